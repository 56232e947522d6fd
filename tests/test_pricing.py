"""Prices and quotes (core/price.py, core/pricing.py): Ark's token billing, local engines' seconds, delivered charges,
and prices as catalog data (shipped, operator overrides, the local-models file)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from seedgate.core.catalog import Catalog, CatalogError, load_catalog
from seedgate.core.plan import TaskPlan
from seedgate.core.price import Price, SecondsRule, TokensRule, parse_price
from seedgate.core.pricing import Delivered, charge, estimate
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.usage import completion_tokens
from seedgate.core.validation import settle_geometry, validate
from seedgate.engines.local.config import LocalModelsError, parse_local_models
from seedgate.engines.local.serving import narrow_catalog

CATALOG = load_catalog()
PRO = "doubao-seedance-1-0-pro-250528"
V2 = "doubao-seedance-2-0-260128"
V2_FAST = "doubao-seedance-2-0-fast-260128"
WAN = "wan2.1-t2v-1.3b"


def plan(
    model: str = V2, catalog: Catalog = CATALOG, video_seconds: tuple[float | None, ...] = (), **kw: object
) -> TaskPlan:
    media = [MediaRef("video", f"http://x/{i}.mp4", "reference_video") for i in range(len(video_seconds))]
    spec = TaskSpec(model=model, prompt="a cat", media=media, **kw)  # type: ignore[arg-type]
    checked = validate(spec, catalog)
    lengths = iter(video_seconds)
    checked = replace(checked, media=tuple(replace(m, seconds=next(lengths)) for m in checked.media))
    return settle_geometry(checked, catalog)


def price_of(model: str, catalog: Catalog = CATALOG) -> Price:
    price = catalog.models[model].price
    assert price is not None, model
    return price


# -- Ark's token billing --------------------------------------------------------------------------------------------


def test_ark_published_example_720p_5s_is_108900_tokens_at_46_cny() -> None:
    task = plan(V2, resolution="720p", ratio="16:9", duration=5)
    quote = estimate(task, price_of(V2))
    assert (quote.currency, quote.tokens, quote.amount, quote.seconds) == ("CNY", 108900, 5_009_400, 5.0)
    assert quote.breakdown == (
        ("tokens", "1280x720, 121 frames -> 108900 tokens"),
        ("price", "x 46 CNY / 1M tokens"),
        ("total", "5.009400 CNY"),
    )
    assert quote.to_json() == {
        "currency": "CNY",
        "amount": 5.0094,
        "amount_micros": 5_009_400,
        "tokens": 108900,
        "seconds": 5.0,
    }


def test_the_121_frame_rule_not_the_approximate_formula() -> None:
    # Ark's price-example table computes 1440x1440, 24 fps, 5 s as 243000 tokens (x 120 frames); real usage counts
    # the 24 * d + 1 frames Seedance writes (108900 for 720p 5 s), and so does core/usage.py: 245025.
    square = estimate(plan(PRO, resolution="1080p", ratio="1:1", duration=5), price_of(PRO))
    assert square.tokens == 1440 * 1440 * 121 // 1024 == 245025
    assert square.amount == 245025 * 15  # 15 CNY / 1M tokens is 15 micro-CNY a token
    wide = estimate(plan(PRO, resolution="480p", ratio="21:9", duration=5), price_of(PRO))
    assert wide.tokens == 960 * 416 * 121 // 1024 == 47190  # the table's 46800 is x 120
    long = estimate(plan(PRO, resolution="1080p", ratio="16:9", duration=10), price_of(PRO))
    assert long.tokens == 1920 * 1088 * 241 // 1024 and long.seconds == 10.0  # the table's 489600 is x 240


def test_decimal_prices_stay_exact() -> None:
    quote = estimate(plan("doubao-seedance-1-0-pro-fast-251015", resolution="720p", ratio="16:9"), price_of(PRO))
    assert quote.tokens == 103818
    fast = estimate(
        plan("doubao-seedance-1-0-pro-fast-251015", resolution="720p", ratio="16:9"),
        price_of("doubao-seedance-1-0-pro-fast-251015"),
    )
    assert fast.amount == 436036  # 103818 x 4.2 = 436035.6, rounded half up to a micro-unit
    assert fast.breakdown[1] == ("price", "x 4.2 CNY / 1M tokens")


def test_seedance_2_with_a_reference_video_bills_its_seconds_at_the_video_price() -> None:
    with_video = plan(V2, video_seconds=(4.0,), resolution="720p", ratio="16:9")
    quote = estimate(with_video, price_of(V2))
    assert quote.tokens == 1280 * 720 * (121 + 96) // 1024 == 195300
    assert quote.amount == 195300 * 28
    assert quote.breakdown[:2] == (
        ("tokens", "1280x720, 121 frames + 4 s of reference video -> 195300 tokens"),
        ("price", "x 28 CNY / 1M tokens (with video input)"),
    )
    fast = estimate(plan(V2_FAST, video_seconds=(4.0,), resolution="720p", ratio="16:9"), price_of(V2_FAST))
    assert fast.amount == 195300 * 22
    # Without video input, the online price.
    assert estimate(plan(V2_FAST, resolution="720p", ratio="16:9"), price_of(V2_FAST)).amount == 108900 * 37


def test_a_reference_video_of_unknown_length_is_not_counted_and_says_so() -> None:
    quote = estimate(plan(V2, video_seconds=(None, 3.0), resolution="720p", ratio="16:9"), price_of(V2))
    assert quote.tokens == 1280 * 720 * (121 + 72) // 1024
    assert quote.breakdown[0] == (
        "tokens",
        f"1280x720, 121 frames + 3 s of reference video (1 reference video of unknown length not counted) -> "
        f"{quote.tokens} tokens",
    )


def test_flex_is_half_of_online() -> None:
    online = estimate(plan(PRO, resolution="720p", ratio="16:9"), price_of(PRO))
    flex = estimate(plan(PRO, resolution="720p", ratio="16:9", service_tier="flex"), price_of(PRO))
    assert flex.tokens == online.tokens == 103818
    assert (online.amount, flex.amount) == (103818 * 15, 103818 * 15 // 2)
    assert ("flex", "x 0.5") in flex.breakdown and ("flex", "x 0.5") not in online.breakdown


def test_draft_with_audio_prices_the_converted_tokens_at_the_same_price(tmp_path: Path) -> None:
    # 1.5 pro ships unpriced; an operator prices it.
    catalog = _operator_catalog(
        tmp_path, '[prices."doubao-seedance-1-5-pro-251215"]\ncurrency = "USD"\nper_million_tokens = 2.4\n'
    )
    draft = plan("doubao-seedance-1-5-pro-251215", catalog, draft=True, ratio="16:9")
    quote = estimate(draft, price_of("doubao-seedance-1-5-pro-251215", catalog))
    assert quote.tokens == completion_tokens(draft) == int(864 * 496 * 121 // 1024 * 0.6)
    assert quote.amount == round(quote.tokens * 2.4) and quote.currency == "USD"
    assert ("draft", "with audio: tokens x 0.6 (included above)") in quote.breakdown
    assert ("price", "x 2.4 USD / 1M tokens") in quote.breakdown
    silent = estimate(replace(draft, generate_audio=False), price_of("doubao-seedance-1-5-pro-251215", catalog))
    assert silent.tokens == 864 * 496 * 121 // 1024 and not any(label == "draft" for label, _ in silent.breakdown)


def test_a_minimum_of_tokens_per_task() -> None:
    price = Price("CNY", TokensRule(Decimal(46), Decimal(28), min_tokens=100_000))
    short = estimate(plan(V2, resolution="480p", ratio="16:9", duration=4), price)
    assert short.tokens == 100_000 and short.amount == 100_000 * 46
    assert ("minimum", "raised to 100000 tokens, the model's minimum per task") in short.breakdown
    assert estimate(plan(V2, resolution="720p", ratio="16:9"), price).tokens == 108900


# -- charges from what was delivered --------------------------------------------------------------------------------


def test_nothing_measured_charges_the_estimate() -> None:
    task = plan(V2, resolution="1080p", ratio="16:9", duration=10)
    assert charge(task, price_of(V2), Delivered()).amount == estimate(task, price_of(V2)).amount


def test_delivered_less_than_requested_costs_what_was_delivered() -> None:
    task = plan(V2, resolution="1080p", ratio="16:9", duration=10)
    assert estimate(task, price_of(V2)).tokens == 1920 * 1080 * 241 // 1024
    # A 1080p request delivered at 720p costs 720p; 10 s delivered as 5 s costs 5 s.
    delivered = charge(task, price_of(V2), Delivered(frames=121, width=1280, height=720))
    assert (delivered.tokens, delivered.amount, delivered.seconds) == (108900, 5_009_400, 5.0)
    assert delivered.breakdown[0] == ("tokens", "delivered 1280x720, 121 frames -> 108900 tokens")
    # Frames at another rate count as the 24 fps frames of the same length.
    assert charge(task, price_of(V2), Delivered(frames=81, fps=16, width=1280, height=720)).tokens == 108900
    assert charge(task, price_of(V2), Delivered(frames=0, fps=16)).amount == 0  # nothing delivered


def test_delivered_more_than_requested_never_costs_more_than_the_estimate() -> None:
    task = plan(V2, resolution="720p", ratio="16:9", duration=5)
    more = charge(task, price_of(V2), Delivered(frames=241, width=1920, height=1080))
    assert (more.tokens, more.amount) == (108900, 5_009_400)
    assert ("cap", "108900 tokens: not more than the estimate") in more.breakdown


def test_the_upstreams_reported_tokens_win() -> None:
    task = plan(V2, resolution="720p", ratio="16:9", video_seconds=(2.0,))
    for reported in (50_000, 400_000):  # less or more than the estimate: what the operator pays
        quote = charge(task, price_of(V2), Delivered(completion_tokens=reported, frames=1, width=2, height=2))
        assert (quote.tokens, quote.amount) == (reported, reported * 28)
        assert quote.breakdown[0] == ("tokens", f"{reported} tokens reported by the upstream")
    flex = plan(PRO, resolution="720p", ratio="16:9", service_tier="flex")
    assert charge(flex, price_of(PRO), Delivered(completion_tokens=1000)).amount == 7500


# -- seconds pricing for local engines -------------------------------------------------------------------------------

PRICED_PIPELINE = """
[[pipeline]]
name = "t2v"
family = "wan-t2v"
path = "weights/t2v"
serves = { "wan2.1-t2v-1.3b" = ["text"] }
price = { currency = "USD", per_second = { "480p" = 0.01, "720p" = "0.03" } }
"""


def test_local_models_are_free_by_default(tmp_path: Path) -> None:
    catalog = narrow_catalog(load_catalog(), parse_local_models(PRICED_PIPELINE.replace("price =", "# "), tmp_path))
    quote = estimate(plan(WAN, catalog, resolution="720p", ratio="16:9"), price_of(WAN, catalog))
    assert (quote.amount, quote.tokens, quote.seconds) == (0, None, 5.0)


def test_a_local_pipeline_prices_seconds_by_resolution(tmp_path: Path) -> None:
    catalog = narrow_catalog(load_catalog(), parse_local_models(PRICED_PIPELINE, tmp_path))
    price = price_of(WAN, catalog)
    assert price == Price("USD", SecondsRule((("480p", Decimal("0.01")), ("720p", Decimal("0.03")))))
    task = plan(WAN, catalog, resolution="720p", ratio="16:9", duration=5)
    quote = estimate(task, price)
    assert (quote.currency, quote.amount, quote.tokens, quote.seconds) == ("USD", 150_000, None, 5.0)
    assert quote.breakdown == (
        ("output", "1280x720, 5 s"),
        ("price", "x 0.03 USD / s at 720p"),
        ("total", "0.150000 USD"),
    )
    # Delivered at 480p, 3 s (16 fps): 480p's price for 3 s.
    delivered = charge(task, price, Delivered(frames=49, fps=16, width=864, height=496))
    assert (delivered.amount, delivered.seconds) == (30_000, 3.0)
    assert delivered.breakdown[1] == ("price", "x 0.01 USD / s at 480p")
    # Never more than the estimate.
    assert charge(task, price, Delivered(frames=241)).amount == 150_000
    # Models the pipeline does not serve keep the catalog's (free) price.
    assert estimate(plan("wan2.1-14b"), price_of("wan2.1-14b", catalog)).amount == 0


def test_pipelines_serving_one_model_agree_on_its_price(tmp_path: Path) -> None:
    other = PRICED_PIPELINE.replace('name = "t2v"', 'name = "t2v-b"').replace('"0.03"', '"0.05"')
    with pytest.raises(LocalModelsError, match="'t2v' and 't2v-b' both serve 'wan2.1-t2v-1.3b' at different prices"):
        parse_local_models(PRICED_PIPELINE + other, tmp_path)
    with pytest.raises(LocalModelsError, match=r"pipeline 't2v': price.currency must be an ISO 4217 code"):
        parse_local_models(PRICED_PIPELINE.replace('"USD"', '"dollars"'), tmp_path)


# -- prices as catalog data -----------------------------------------------------------------------------------------


def test_shipped_prices() -> None:
    def rates(model: str) -> tuple[str, str | None]:
        rule = price_of(model).rule
        assert isinstance(rule, TokensRule)
        with_video = rule.per_million_with_video
        return str(rule.per_million), None if with_video is None else str(with_video)

    assert rates(PRO) == ("15", None)
    assert rates("doubao-seedance-1-0-pro-fast-251015") == ("4.2", None)
    assert rates("doubao-seedance-1-0-lite-t2v-250428") == rates("doubao-seedance-1-0-lite-i2v-250428") == ("10", None)
    assert rates(V2) == ("46", "28") and rates(V2_FAST) == ("37", "22")
    # Inherited through `extends`: resellers' lines cost what the official model they resell costs.
    assert rates("sd2_mx_720p") == rates("seedance-2.0-kz") == ("46", "28")
    assert rates("seedance2.0-fast-md") == rates("seedance-2.0-kz-fast") == ("37", "22")
    for unpriced in ("doubao-seedance-1-5-pro-251215", "seedance-1.5-pro", "happyhorse-1.0", "wan2.7"):
        assert CATALOG.models[unpriced].price is None, unpriced
    assert CATALOG.models[V2].summary()["price"] == {
        "currency": "CNY",
        "per_million_tokens": "46",
        "per_million_tokens_with_video": "28",
        "flex_factor": "0.5",
    }


def _operator_catalog(tmp_path: Path, text: str) -> Catalog:
    extra = tmp_path / "operator.toml"
    extra.write_text(text)
    return load_catalog(extra)


def test_an_operator_reprices_a_model_without_restating_it(tmp_path: Path) -> None:
    catalog = _operator_catalog(
        tmp_path,
        '[prices."doubao-seedance-2-0-fast-260128"]\ncurrency = "USD"\nper_million_tokens = "5.6"\n\n'
        '[[model]]\nid = "mine"\nextends = "doubao-seedance-2-0-260128"\n'
        'price = { currency = "USD", per_million_tokens = 7, per_million_tokens_with_video = 4.2 }\n',
    )
    repriced = price_of(V2_FAST, catalog)
    assert repriced == Price("USD", TokensRule(Decimal("5.6")))
    # Models that inherit the price follow it; one with a price of its own keeps it.
    assert price_of("sd2_mx_fast_720p", catalog) == repriced
    assert price_of("doubao-seedance-2-0-mini-260615", catalog) == repriced
    assert price_of("seedance2.0-fast-md", catalog) == price_of("seedance2.0-fast-md")
    assert price_of("mine", catalog) == Price("USD", TokensRule(Decimal(7), Decimal("4.2")))
    assert price_of(V2, catalog) == price_of(V2)
    # `false` unprices a model.
    unpriced = _operator_catalog(tmp_path, f'[prices]\n"{V2}" = false\n')
    assert unpriced.models[V2].price is None and unpriced.models["sd2_mx_720p"].price is None


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ('"cheap"', "price must be a table (or false for no price)"),
        ("{ per_million_tokens = 1 }", "price.currency must be an ISO 4217 code"),
        ('{ currency = "cny", per_million_tokens = 1 }', "price.currency must be an ISO 4217 code"),
        ('{ currency = "CNY" }', "price needs per_million_tokens"),
        ('{ currency = "CNY", per_million_tokens = -1 }', "price.per_million_tokens must be a number >= 0, got -1"),
        ('{ currency = "CNY", per_million_tokens = "abc" }', "price.per_million_tokens must be a number >= 0"),
        ('{ currency = "CNY", per_million_tokens = true }', "price.per_million_tokens must be a number >= 0"),
        ('{ currency = "CNY", per_million_tokens = 1, flex_factor = "nan" }', "price.flex_factor must be a number"),
        ('{ currency = "CNY", per_million_tokens = 1, min_tokens = 1.5 }', "price.min_tokens must be a whole number"),
        ('{ currency = "CNY", per_million_tokens = 1, per_token = 1 }', "price has unknown fields ['per_token']"),
        (
            '{ currency = "CNY", per_million_tokens = 1, per_second = { "720p" = 1 } }',
            "price takes per_million_tokens or per_second, not both",
        ),
        ('{ currency = "CNY", per_second = {} }', "price.per_second must be a table of resolution -> price"),
        ('{ currency = "CNY", per_second = { "HD" = 1 } }', "price.per_second: 'HD' is not a resolution"),
        ('{ currency = "CNY", per_second = { "720p" = 1 } }', "price.per_second lacks 480p"),
    ],
)
def test_a_bad_price_is_a_catalog_error_naming_the_model_and_field(tmp_path: Path, price: str, message: str) -> None:
    with pytest.raises(CatalogError) as caught:
        _operator_catalog(tmp_path, f'[[model]]\nid = "mine"\nextends = "{WAN}"\nprice = {price}\n')
    assert str(caught.value).startswith("model 'mine': ") and message in str(caught.value)


def test_prices_must_name_a_model(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"prices names unknown model ids \['seedance-2.0'\]"):
        _operator_catalog(tmp_path, '[prices."seedance-2.0"]\ncurrency = "CNY"\nper_million_tokens = 1\n')
    with pytest.raises(CatalogError, match=f"model '{V2}': price.currency"):
        _operator_catalog(tmp_path, f'[prices."{V2}"]\nper_million_tokens = 1\n')


def test_parse_price_reads_exact_decimals() -> None:
    price = parse_price({"currency": "CNY", "per_million_tokens": 4.2, "flex_factor": "0.25", "min_tokens": 10})
    assert price == Price("CNY", TokensRule(Decimal("4.2"), None, Decimal("0.25"), 10))
    assert parse_price(False) is None
    # A price's summary (GET /v1/models, a task's billing snapshot) reads back as the same price.
    for model in (V2, PRO, WAN):
        assert parse_price(price_of(model).summary()) == price_of(model)
