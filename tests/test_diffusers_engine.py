"""The local `diffusers` engine end to end on CPU: tiny random pipelines saved to disk, a real server loading them,
tasks through the Ark SDK, MP4s checked with PyAV.

Needs the `gpu` extra (torch, diffusers, transformers, ftfy); CPU torch is enough. Marked slow: `make test-gpu`
and .ci/run run it, `make test` does not.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

for _module in ("torch", "diffusers", "transformers", "ftfy"):
    pytest.importorskip(_module, reason=f"the gpu extra is not installed ({_module} missing): pip install -e '.[gpu]'")

from volcenginesdkarkruntime._exceptions import ArkBadRequestError  # noqa: E402

from seedgate.engines.base import RenderCancelled, RenderJob  # noqa: E402

from .conftest import API_KEY, Database, MediaServer, Server, start_server, wait_status  # noqa: E402
from .media import image_bytes, inspect_video, video_bytes  # noqa: E402
from .tiny_pipelines import BUILDERS, save  # noqa: E402
from .waiting import wait_until  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.gpu_engine]

# Seedance 2.0 geometry, the family the local catalog rows use.
SIZE_480P = {"16:9": (864, 496), "1:1": (640, 640), "9:16": (496, 864)}
SLOW_STEPS = 400  # enough denoising steps on the tiny model for a poll to see the task mid-way

OPERATOR_CATALOG = """
[[model]]
id = "wan-slow"
extends = "wan2.1-t2v-1.3b"
name = "Wan T2V with many steps (progress test)"

[[model]]
id = "wan-unconfigured"
extends = "wan2.1-t2v-1.3b"
name = "A local model whose weights this server does not have"
"""


def _local_models(weights: Path) -> str:
    return f"""
[defaults]
device = "cpu"
dtype = "float32"
steps = 2
max_area = 1024

[[pipeline]]
name = "wan-t2v"
family = "wan-t2v"
path = "{weights / "wan-t2v"}"
serves = {{ "wan2.1-t2v-1.3b" = ["text"], "wan2.1-14b" = ["text"] }}

[[pipeline]]
name = "wan22-moe"
family = "wan-t2v"
path = "{weights / "wan-moe"}"
serves = {{ "wan2.2-a14b" = ["text"] }}
guidance = 4.0
guidance_2 = 3.0
batched_cfg = true

[[pipeline]]
name = "wan-i2v"
family = "wan-i2v"
path = "{weights / "wan-i2v"}"
serves = {{ "wan2.1-14b" = ["first_frame"] }}

[[pipeline]]
name = "wan-flf2v"
family = "wan-flf2v"
path = "{weights / "wan-flf2v"}"
serves = {{ "wan2.1-14b" = ["first_last_frame"] }}

[[pipeline]]
name = "wan-vace"
family = "wan-vace"
path = "{weights / "wan-vace"}"
serves = {{ "wan2.1-vace" = ["text", "reference"] }}

[[pipeline]]
name = "ltx"
family = "ltx-condition"
path = "{weights / "ltx-condition"}"
serves = {{ "ltx-video-0.9" = ["text", "first_frame", "reference"] }}

[[pipeline]]
name = "skyreels"
family = "skyreels-df"
path = "{weights / "skyreels-df"}"
serves = {{ "skyreels-v2-df" = ["reference"] }}

[[pipeline]]
name = "ltx2"
family = "ltx2-audio"
path = "{weights / "ltx2-audio"}"
serves = {{ "ltx-2" = ["text", "first_frame"] }}

[[pipeline]]
name = "ti2v"
family = "wan-ti2v"
path = "{weights / "wan-ti2v"}"
serves = {{ "wan2.2-ti2v-5b" = ["text", "first_frame"] }}
cache = {{ kind = "first_block", threshold = 0.05 }}

[[pipeline]]
name = "wan-slow"
family = "wan-t2v"
path = "{weights / "wan-t2v"}"
serves = {{ "wan-slow" = ["text"] }}
steps = {SLOW_STEPS}
max_area = 4096
# The options that work on a CPU too, so that they are exercised through a real render.
attention = "native"
vae_tiling = true
batched_cfg = true
"""


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("weights")
    for family in BUILDERS:
        save(family, root / family)
    return root


@pytest.fixture(scope="module")
def local_server(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("local")
    config = base / "local-models.toml"
    config.write_text(_local_models(weights))
    catalog = base / "catalog.toml"
    catalog.write_text(OPERATOR_CATALOG)
    # A short lease makes the worker report progress about every second (heartbeats carry it).
    srv = start_server(
        Database("sqlite", None),
        base / "data",
        "--workers",
        "1",
        SEEDGATE_LOCAL_MODELS=str(config),
        SEEDGATE_CATALOG=str(catalog),
        SEEDGATE_LEASE_SECONDS="3",
        HF_HUB_OFFLINE="1",
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ark(local_server: Server) -> Any:
    from volcenginesdkarkruntime import Ark

    return Ark(base_url=local_server.ark_base, api_key=API_KEY, max_retries=0)


def _run(ark: Any, model: str, content: list[dict[str, Any]], **options: Any) -> Any:
    created = ark.content_generation.tasks.create(
        model=model, content=content, resolution="480p", duration=2, **options
    )
    task = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), created.id)
    assert task.status == "succeeded", task
    return task


def _video(task: Any) -> Any:
    response = httpx.get(task.content.video_url, timeout=30)
    assert response.status_code == 200
    return inspect_video(response.content)


def _text(prompt: str) -> dict[str, Any]:
    return {"type": "text", "text": prompt}


def _image(url: str, role: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}, "role": role}


# ------------------------------------------------------------------------------------------------
# Every family through the real HTTP API


def test_wan_text_to_video_exact_geometry(ark: Any, local_server: Server) -> None:
    task = _run(ark, "wan2.1-t2v-1.3b", [_text("a red kite over the sea")], seed=11, watermark=True)
    facts = _video(task)
    assert (facts.codec, facts.width, facts.height) == ("h264", *SIZE_480P["16:9"])
    assert facts.fps == 24 and facts.frames == 49
    assert facts.audio_channels is None
    raw = httpx.get(
        f"{local_server.ark_base}/contents/generations/tasks/{task.id}", headers={"Authorization": f"Bearer {API_KEY}"}
    ).json()
    assert raw["engine"] == "diffusers"


def test_wan_first_frame_adaptive_portrait_and_last_frame(ark: Any, media_server: MediaServer) -> None:
    url = media_server.add("local-portrait.png", image_bytes(720, 1280))
    task = _run(
        ark, "wan2.1-14b", [_text("she turns"), _image(url, "first_frame")], return_last_frame=True, camera_fixed=True
    )
    assert task.ratio == "9:16"
    facts = _video(task)
    assert (facts.width, facts.height, facts.frames) == (*SIZE_480P["9:16"], 49)
    last = httpx.get(task.content.last_frame_url, timeout=30).content
    assert last[:8] == b"\x89PNG\r\n\x1a\n"


def test_wan_first_and_last_frame(ark: Any, media_server: MediaServer) -> None:
    first = media_server.add("local-first.png", image_bytes(1280, 720, (250, 0, 0)))
    last = media_server.add("local-last.png", image_bytes(1280, 720, (0, 0, 250)))
    task = _run(ark, "wan2.1-14b", [_text("red to blue"), _image(first, "first_frame"), _image(last, "last_frame")])
    assert (_video(task).width, _video(task).height) == SIZE_480P["16:9"]


def test_vace_reference_images(ark: Any, media_server: MediaServer) -> None:
    urls = [media_server.add(f"local-ref{i}.png", image_bytes(600, 600, (i * 90, 80, 80))) for i in range(2)]
    task = _run(ark, "wan2.1-vace", [_text("[图1] meets [图2]")] + [_image(u, "reference_image") for u in urls])
    facts = _video(task)
    assert (facts.width, facts.height, facts.frames) == (*SIZE_480P["16:9"], 49)


def test_ltx_first_frame_and_text(ark: Any, media_server: MediaServer) -> None:
    url = media_server.add("local-square.png", image_bytes(800, 800))
    task = _run(ark, "ltx-video-0.9", [_text("a slow zoom"), _image(url, "first_frame")])
    assert (_video(task).width, _video(task).height) == SIZE_480P["1:1"]
    task = _run(ark, "ltx-video-0.9", [_text("a city at night")], ratio="9:16")
    assert (_video(task).width, _video(task).height) == SIZE_480P["9:16"]


def test_wan22_two_experts(ark: Any) -> None:
    task = _run(ark, "wan2.2-a14b", [_text("a fox in the snow")], ratio="1:1")
    facts = _video(task)
    assert (facts.width, facts.height, facts.frames) == (*SIZE_480P["1:1"], 49)


def test_ti2v_first_frame(ark: Any, media_server: MediaServer) -> None:
    url = media_server.add("local-ti2v.png", image_bytes(1280, 720))
    task = _run(ark, "wan2.2-ti2v-5b", [_text("waves"), _image(url, "first_frame")], seed=3)
    assert (_video(task).width, _video(task).height) == SIZE_480P["16:9"]


def test_ltx2_joint_audio(ark: Any, media_server: MediaServer) -> None:
    task = _run(ark, "ltx-2", [_text("a robot dancing")])
    assert task.generate_audio is True
    facts = _video(task)
    assert (facts.width, facts.height, facts.frames, facts.audio_channels) == (*SIZE_480P["16:9"], 49, 1)
    assert abs(facts.duration - 49 / 24) < 0.15
    url = media_server.add("local-ltx2.png", image_bytes(1280, 720))
    silent = _run(ark, "ltx-2", [_text("a robot dancing"), _image(url, "first_frame")], generate_audio=False)
    assert _video(silent).audio_channels is None


@pytest.mark.parametrize("model", ["ltx-video-0.9", "skyreels-v2-df"])
def test_video_extension(ark: Any, media_server: MediaServer, tmp_path: Path, model: str) -> None:
    clip = media_server.add(f"local-clip-{model}.mp4", video_bytes(tmp_path / "clip.mp4", 640, 640, seconds=2))
    task = _run(
        ark,
        model,
        [
            _text("and then it keeps going"),
            {"type": "video_url", "video_url": {"url": clip}, "role": "reference_video"},
        ],
    )
    facts = _video(task)
    # Reference mode is not adaptive in the catalog: 16:9 unless the caller asks otherwise.
    assert (facts.width, facts.height, facts.frames) == (*SIZE_480P["16:9"], 49)


# ------------------------------------------------------------------------------------------------
# Refusals at create time


def test_mode_without_a_configured_pipeline_is_a_400_naming_the_field(ark: Any, media_server: MediaServer) -> None:
    first = media_server.add("local-f.png", image_bytes(640, 480))
    last = media_server.add("local-l.png", image_bytes(640, 480))
    # ltx-video-0.9 could do first + last frame, but this server configured no pipeline for it.
    with pytest.raises(ArkBadRequestError) as caught:
        ark.content_generation.tasks.create(
            model="ltx-video-0.9", content=[_text("x"), _image(first, "first_frame"), _image(last, "last_frame")]
        )
    error = caught.value.body if isinstance(caught.value.body, dict) else {}
    assert caught.value.status_code == 400
    assert "no local pipeline configured for first last frame" in str(caught.value)
    assert error.get("param", "content") == "content"


def test_model_without_any_pipeline_is_refused(ark: Any, local_server: Server) -> None:
    response = httpx.post(
        f"{local_server.ark_base}/contents/generations/tasks",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"model": "wan-unconfigured", "content": [_text("a fox")]},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "model"
    assert "no local pipeline configured for text generation" in error["message"]
    assert "configured modes: none" in error["message"]
    models = httpx.get(f"{local_server.url}/v1/models", headers={"Authorization": f"Bearer {API_KEY}"}).json()
    listed = {m["id"]: m for m in models["data"]}
    assert listed["wan-unconfigured"]["modes"] == []
    assert listed["wan2.1-t2v-1.3b"]["modes"] == ["text"]
    assert listed["wan2.2-ti2v-5b"]["modes"] == ["text", "first_frame"]
    assert listed["ltx-video-0.9"]["modes"] == ["text", "first_frame", "reference"]
    assert listed["ltx-2"]["modes"] == ["text", "first_frame"] and listed["ltx-2"]["audio"] is True


def _pipeline_toml(path: Path, model: str, mode: str = "text", family: str = "wan-t2v", **settings: Any) -> str:
    """A local-models file with one small pipeline on CPU; `settings` add to or override its defaults."""
    values = {"device": "cpu", "dtype": "float32", **settings}
    lines = [f"{key} = {str(v).lower() if isinstance(v, bool) else repr(v)}" for key, v in values.items()]
    return (
        "\n".join(
            [f'[[pipeline]]\nfamily = "{family}"\npath = "{path}"\nserves = {{ "{model}" = ["{mode}"] }}', *lines]
        )
        + "\n"
    )


# ------------------------------------------------------------------------------------------------
# Progress per denoising step, and cancellation between steps


def test_progress_is_reported_while_denoising(local_server: Server) -> None:
    client = local_server.client()
    created = client.post("/v1/videos", json={"model": "wan-slow", "prompt": "a long render", "seconds": "4"})
    assert created.status_code == 200, created.text
    video_id = created.json()["id"]
    seen: set[int] = set()

    def poll() -> dict[str, Any]:
        body: dict[str, Any] = client.get(f"/v1/videos/{video_id}").json()
        if body["status"] == "in_progress":
            seen.add(body["progress"])
        return body

    body = wait_until(
        poll, f"{video_id} to finish", until=lambda b: b["status"] in ("completed", "failed"), timeout=300
    )
    assert body["status"] == "completed", body
    assert any(0 < p < 100 for p in seen), seen


def test_cancel_between_steps_leaves_no_file(weights: Path, tmp_path: Path) -> None:
    from seedgate.engines.local.config import parse_local_models
    from seedgate.engines.local.engine import DiffusersEngine

    local = parse_local_models(
        _pipeline_toml(weights / "wan-t2v", "wan2.1-t2v-1.3b", steps=50, max_area=1024), tmp_path
    )
    engine = DiffusersEngine(local)
    job = RenderJob(
        task_id="cancel-me",
        model="wan2.1-t2v-1.3b",
        mode="text",
        prompt="x",
        width=64,
        height=64,
        fps=24,
        frames=49,
        seed=1,
        output_dir=tmp_path / "out",
    )
    progress: list[float] = []
    with pytest.raises(RenderCancelled):
        engine.render(job, progress.append, lambda: len(progress) >= 3)
    assert len(progress) == 3 and 0 < progress[-1] < 0.1  # stopped after three of fifty steps
    assert not (tmp_path / "out" / "video.mp4").exists()
    # The engine stays usable after a cancelled render.
    result = engine.render(job, lambda _f: None, lambda: False)
    assert result.video_path.exists() and result.frames == 49


def test_shutdown_stops_a_render_between_steps_and_requeues_it(weights: Path, tmp_path: Path) -> None:
    config = tmp_path / "local-models.toml"
    config.write_text(_pipeline_toml(weights / "wan-t2v", "wan2.1-t2v-1.3b", steps=20000, max_area=4096))
    srv = start_server(
        Database("sqlite", None),
        tmp_path / "data",
        "--workers",
        "1",
        SEEDGATE_LOCAL_MODELS=str(config),
        SEEDGATE_LEASE_SECONDS="3",
        HF_HUB_OFFLINE="1",
    )
    try:
        client = srv.client()
        created = client.post("/v1/videos", json={"model": "wan2.1-t2v-1.3b", "prompt": "endless", "seconds": "4"})
        video_id = created.json()["id"]
        wait_until(
            lambda: client.get(f"/v1/videos/{video_id}").json()["progress"],
            f"{video_id} to make progress",
            timeout=120,
            interval=0.2,
        )
        assert 0 < client.get(f"/v1/videos/{video_id}").json()["progress"] < 90
    finally:
        # The worker waits out its grace period, then the render stops at the next step and the task is requeued.
        srv.stop()
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly, hence -15 rather than a kill's -9.
    assert srv.process.returncode in (0, -15)
    assert "given back to the queue" in srv.log()
    assert not list((srv.data_dir / "results").glob("*/video.mp4"))


# ------------------------------------------------------------------------------------------------
# Start-up checks


def test_incomplete_weights_directory_fails_at_start(weights: Path, tmp_path: Path) -> None:
    broken = tmp_path / "wan-broken"
    shutil.copytree(weights / "wan-t2v", broken)
    for shard in (broken / "transformer").glob("*.safetensors"):
        shard.unlink()
    shutil.rmtree(broken / "vae")
    config = tmp_path / "local-models.toml"
    config.write_text(f"""
[[pipeline]]
name = "broken"
family = "wan-t2v"
path = "{broken}"
serves = {{ "wan2.1-t2v-1.3b" = ["text"] }}
device = "cpu"
""")
    with pytest.raises(RuntimeError) as caught:
        start_server(Database("sqlite", None), tmp_path / "data", SEEDGATE_LOCAL_MODELS=str(config), HF_HUB_OFFLINE="1")
    message = str(caught.value)
    assert "incomplete local model weights" in message
    assert "transformer/ weights" in message and "vae/" in message


def test_local_models_naming_an_unknown_model_fails_at_start(weights: Path, tmp_path: Path) -> None:
    config = tmp_path / "local-models.toml"
    config.write_text(f"""
[[pipeline]]
family = "wan-t2v"
path = "{weights / "wan-t2v"}"
serves = {{ "no-such-model" = ["text"] }}
""")
    with pytest.raises(RuntimeError, match="'no-such-model', which is not a catalog model id"):
        start_server(Database("sqlite", None), tmp_path / "data", "--workers", "0", SEEDGATE_LOCAL_MODELS=str(config))


# ------------------------------------------------------------------------------------------------
# Batched classifier-free guidance: same pictures, half the transformer calls


def _cpu_pipeline(path: Path, family: str, mode: str, tmp_path: Path, **settings: Any) -> Any:
    """A pipeline loaded by the engine's own loader, small and on CPU."""
    from seedgate.engines.local.config import parse_local_models
    from seedgate.engines.local.pipelines import LoadedPipeline

    toml = _pipeline_toml(path, "m", mode, family, steps=3, max_area=1024, **settings)
    return LoadedPipeline(parse_local_models(toml, tmp_path).pipelines[0])


@pytest.mark.parametrize(
    ("family", "mode", "roles"),
    [
        ("wan-t2v", "text", ()),
        ("wan-flf2v", "first_last_frame", ("first_frame", "last_frame")),
        ("wan-ti2v", "first_frame", ("first_frame",)),
        ("wan-vace", "reference", ("reference_image",)),
    ],
)
def test_batched_cfg_matches_separate_passes(
    weights: Path, tmp_path: Path, family: str, mode: str, roles: tuple[str, ...]
) -> None:
    import numpy as np
    from PIL import Image

    from seedgate.engines.base import MediaInput

    inputs = []
    for index, role in enumerate(roles):
        path = tmp_path / f"{role}.png"
        Image.new("RGB", (80, 60), (200 * (index % 2), 90, 200 * ((index + 1) % 2))).save(path)
        inputs.append(MediaInput("image", role, path))
    job = RenderJob(
        task_id="cfg",
        model="m",
        mode=mode,
        prompt="a cat",
        width=64,
        height=64,
        fps=24,
        frames=49,
        seed=5,
        inputs=tuple(inputs),
    )
    frames, block_calls = [], []
    for batched in (False, True):
        loaded = _cpu_pipeline(weights / family, family, mode, tmp_path, batched_cfg=batched)
        calls = [0]
        loaded.pipe.transformer.blocks[0].register_forward_pre_hook(
            lambda *_, calls=calls: calls.__setitem__(0, calls[0] + 1)
        )
        video, _ = loaded.generate(job, lambda pipe, step, t, kwargs: kwargs)
        frames.append(video)
        block_calls.append(calls[0])
    assert np.allclose(frames[0], frames[1], atol=1e-4)
    assert block_calls == [6, 3]  # 3 steps: conditional and unconditional apart, then together


# ------------------------------------------------------------------------------------------------
# Compilation, and running out of memory


def test_regional_compile_renders_the_same_clip(weights: Path, tmp_path: Path) -> None:
    """`compile = true` (regional, with batched guidance) through the engine's own loader: inductor on CPU here."""
    import numpy as np
    from torch._dynamo.utils import counters

    job = RenderJob(
        task_id="compile", model="m", mode="text", prompt="a cat", width=64, height=64, fps=24, frames=49, seed=5
    )
    frames = []
    for options in ({}, {"compile": True, "compile_mode": "regional", "batched_cfg": True}):
        loaded = _cpu_pipeline(weights / "wan-t2v", "wan-t2v", "text", tmp_path, **options)
        compiled = [getattr(b, "_compiled_call_impl", None) is not None for b in loaded.pipe.transformer.blocks]
        assert compiled == [bool(options)] * len(compiled)
        # Twice: the first call compiles, the second must reuse the compiled blocks and give the same clip.
        before = counters["stats"]["unique_graphs"]
        first, _ = loaded.generate(job, lambda pipe, step, t, kwargs: kwargs)
        graphs = counters["stats"]["unique_graphs"]
        assert (graphs > before) == bool(options)
        second, _ = loaded.generate(job, lambda pipe, step, t, kwargs: kwargs)
        assert counters["stats"]["unique_graphs"] == graphs  # no recompilation
        assert np.allclose(first, second, atol=1e-5)
        frames.append(second)
    assert np.allclose(frames[0], frames[1], atol=1e-4)


# Runs in its own process: it caps that process's address space so that a big render runs out of memory.
_OOM_SCRIPT = """
import json, resource, sys
from pathlib import Path
from seedgate.engines.base import RenderFailed, RenderJob
from seedgate.engines.local.config import parse_local_models
from seedgate.engines.local.engine import DiffusersEngine

weights, out = Path(sys.argv[1]), Path(sys.argv[2])
engine = DiffusersEngine(parse_local_models(f'''
[[pipeline]]
family = "wan-t2v"
path = "{weights}"
serves = {{ "m" = ["text"] }}
device = "cpu"
dtype = "float32"
steps = 1
max_area = 147456
''', out))

def render(name, width, height, frames):
    job = RenderJob(task_id=name, model="m", mode="text", prompt="a cat", width=width, height=height, fps=24,
                    frames=frames, seed=1, output_dir=out / name)
    (out / name).mkdir()
    try:
        return {"video": str(engine.render(job, lambda f: None, lambda: False).video_path)}
    except RenderFailed as exc:
        return {"failed": str(exc), "code": exc.code}

answers = {"before": render("before", 64, 64, 49)}
mapped = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (mapped + 128 * 2**20, mapped + 128 * 2**20))
answers["big"] = render("big", 1280, 720, 121)
answers["after"] = render("after", 64, 64, 49)
print(json.dumps(answers))
"""


def test_out_of_memory_fails_the_task_clearly_and_the_engine_renders_on(weights: Path, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _OOM_SCRIPT, str(weights / "wan-t2v"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert answers["big"]["code"] == "InternalServiceError"
    assert answers["big"]["failed"].startswith("out of memory rendering 1280x720, 121 frames on wan-t2v")
    for name in ("before", "after"):
        assert inspect_video(Path(answers[name]["video"]).read_bytes()).frames == 49
