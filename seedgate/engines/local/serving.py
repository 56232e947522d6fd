"""Narrows the catalog to what this server's local pipelines can actually render.

Catalog rows for local models list every mode the open model could do; the operator's file says which weights are
installed. Both API nodes and workers apply this at start, so a mode without a pipeline is a 400 at create time
instead of a task that waits forever for a worker that cannot render it.
"""

from __future__ import annotations

from dataclasses import replace

from seedgate.core.catalog import Catalog

from .config import LocalModels, LocalModelsError

ENGINE = "diffusers"


def narrow_catalog(catalog: Catalog, local: LocalModels | None) -> Catalog:
    """Set `served_modes` (and the pipelines' price, where they set one) on every diffusers-engine model; check that
    the file names real catalog models."""
    if local is not None:
        for pipeline in local.pipelines:
            for model_id, modes in pipeline.serves.items():
                profile = catalog.find(model_id)
                if profile is None or profile.id != model_id:
                    raise LocalModelsError(
                        f"pipeline {pipeline.name!r} serves {model_id!r}, which is not a catalog "
                        'model id (add a [[model]] with engine = "diffusers" via SEEDGATE_CATALOG)'
                    )
                if profile.engine != ENGINE:
                    raise LocalModelsError(
                        f"pipeline {pipeline.name!r} serves {model_id!r}, whose catalog engine is "
                        f"{profile.engine!r}, not {ENGINE!r}"
                    )
                extra = [m for m in modes if m not in profile.modes]
                if extra:
                    raise LocalModelsError(
                        f"pipeline {pipeline.name!r} serves {model_id!r} in {extra}, which the "
                        f"catalog does not allow for it ({', '.join(profile.modes)})"
                    )
    for model_id, profile in list(catalog.models.items()):
        if profile.engine == ENGINE:
            served = local.modes_for(model_id) if local is not None else ()
            price = (local.price_for(model_id) if local is not None else None) or profile.price
            served_modes = tuple(m for m in profile.modes if m in served)
            catalog.models[model_id] = replace(profile, served_modes=served_modes, price=price)
    return catalog
