"""Saving and loading models: bit-exact round trips, and clear errors for every kind of bad file."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import simulator
from engine_models import build_model

META = "meta.json"


def make_model(dtype: str = "float32") -> simulator.Model:
    """A model with labels, info and a few awkward but finite values."""
    config = simulator.ModelConfig(
        d_model=4, n_heads=2, d_head=3, n_layers=2, d_mlp=5, vocab_size=7, n_ctx=6, act="gelu_tanh", norm="pre",
        positional="learned", dtype=dtype,
    )
    base = build_model(config, seed=99)
    labels = simulator.ModelLabels(
        dims=("size", "colour", "fluff", "ünïcode"),
        neurons=(tuple(f"n{i}" for i in range(5)), tuple(f"m{i}" for i in range(5))),
        heads=(("prev", "self"), ("a", "b")),
    )
    info = simulator.ModelInfo(
        name="tiny", title="Tiny — test", description="For tests. Two layers.", suggested=("w1 w2", "w3"),
        notes={"attn.pattern": "look here"}, source="tests",
    )
    model = simulator.Model(config, dict(base.params), base.tokenizer, labels, info)
    finfo = np.finfo(config.np_dtype)
    model.set_param("blocks.0.mlp.b_in", [-0.0, float(finfo.smallest_subnormal), float(finfo.max), float(-finfo.max), 1 / 3])
    return model


def save(model: simulator.Model, path: Path) -> Path:
    simulator.save_model(model, path)
    return path


def members(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def meta_of(path: Path) -> dict[str, Any]:
    return json.loads(members(path)[META].tobytes().decode("utf-8"))


def rewrite(source: Path, target: Path, change: Callable[[dict[str, np.ndarray], dict[str, Any]], None]) -> Path:
    """Copy a saved model file with its arrays and description edited by ``change``."""
    arrays = members(source)
    meta = json.loads(arrays.pop(META).tobytes().decode("utf-8"))
    change(arrays, meta)
    arrays[META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with open(target, "wb") as handle:
        np.savez(handle, **arrays)
    return target


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return save(make_model(), tmp_path / "model.npz")


# -- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(tmp_path: Path, dtype: str) -> None:
    model = make_model(dtype)
    path = save(model, tmp_path / "m.npz")
    again = simulator.load_model(path)
    assert again.config == model.config
    assert again.labels == model.labels
    assert again.info == model.info
    assert again.tokenizer.to_spec() == model.tokenizer.to_spec()
    assert list(again.params) == list(model.params)
    for name, value in model.params.items():
        loaded = again.params[name]
        assert loaded.dtype == value.dtype == np.dtype(dtype), name
        assert loaded.shape == value.shape, name
        assert loaded.tobytes() == value.tobytes(), name
    assert np.signbit(again.params["blocks.0.mlp.b_in"][0])
    a, b = model.trace([1, 2, 3, 4]), again.trace([1, 2, 3, 4])
    with np.errstate(over="ignore", invalid="ignore"):  # the ±max bias entries overflow downstream
        for stage_id in model.stage_ids():
            assert a[stage_id].tobytes() == b[stage_id].tobytes(), stage_id


def test_load_through_the_public_entry_point_and_save_again(tmp_path: Path, saved: Path) -> None:
    again = simulator.load(saved)
    second = save(again, tmp_path / "second.npz")
    assert meta_of(second) == meta_of(saved)
    first_arrays, second_arrays = members(saved), members(second)
    assert first_arrays.keys() == second_arrays.keys()
    for key, value in first_arrays.items():
        assert value.tobytes() == second_arrays[key].tobytes(), key


def test_edited_preset_round_trips(tmp_path: Path) -> None:
    toy = simulator.load("toy")
    toy.set_param("blocks.1.attn.W_V", 0.3, index=(1, 2, 3))
    again = simulator.load_model(save(toy, tmp_path / "toy.npz"))
    assert again.params["blocks.1.attn.W_V"][1, 2, 3] == np.float32(0.3)
    assert again.info == toy.info
    assert again.trace("the cat walks")["probs"].tobytes() == toy.trace("the cat walks")["probs"].tobytes()


def test_file_layout_is_the_documented_one(saved: Path) -> None:
    meta = meta_of(saved)
    assert meta["schema"] == "transformer-step-sim/model" and meta["version"] == 1
    assert {"config", "labels", "tokenizer", "info"} <= set(meta)
    names = {key for key in members(saved) if key != META}
    assert names == {"param/" + name for name in make_model().params}


# -- bad files -------------------------------------------------------------------------------------


def assert_rejected(path: Path, *fragments: str) -> str:
    with pytest.raises(simulator.ModelFileError) as excinfo:
        simulator.load_model(path)
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert_rejected(tmp_path / "nowhere.npz", "no such file", "nowhere.npz")
    with pytest.raises(simulator.ModelFileError, match="no such file"):
        simulator.load(tmp_path / "nowhere.npz")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    assert_rejected(tmp_path, "folder")


@pytest.mark.parametrize("keep", [0, 1, 30, 0.25, 0.5, 0.9, -1])
def test_truncated_files(tmp_path: Path, saved: Path, keep: float) -> None:
    data = saved.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    path = tmp_path / "cut.npz"
    path.write_bytes(data[:cut])
    assert_rejected(path, "cut.npz")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    assert_rejected(path, "noise.npz", "not a readable file")


def test_damaged_bytes_never_escape_as_other_errors(tmp_path: Path, saved: Path) -> None:
    """Overwrite random stretches of a good file: every outcome is a ModelFileError or the same model."""
    data = saved.read_bytes()
    original = simulator.load_model(saved)
    rng = np.random.default_rng(2024)
    path = tmp_path / "damaged.npz"
    for _ in range(150):
        damaged = bytearray(data)
        start = int(rng.integers(0, len(data)))
        damaged[start : start + int(rng.integers(1, 64))] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        path.write_bytes(bytes(damaged[: len(data)]))
        try:
            loaded = simulator.load_model(path)
        except simulator.ModelFileError:
            continue
        for name, value in original.params.items():
            assert loaded.params[name].tobytes() == value.tobytes()


def test_plain_npy_and_foreign_zip_files(tmp_path: Path) -> None:
    npy = tmp_path / "array.npy"
    np.save(npy, np.arange(3))
    assert_rejected(npy, "array.npy")
    foreign = tmp_path / "foreign.npz"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert_rejected(foreign, META)
    text_meta = tmp_path / "text_meta.npz"
    with zipfile.ZipFile(text_meta, "w") as archive:
        archive.writestr(META, json.dumps({"schema": "transformer-step-sim/model", "version": 1}))
    assert_rejected(text_meta, "text_meta.npz")


def test_pickled_arrays_are_not_loaded(tmp_path: Path, saved: Path) -> None:
    path = tmp_path / "pickle.npz"
    arrays = members(saved)
    arrays["param/embed.W_E"] = np.array([{"evil": 1}], dtype=object)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    assert_rejected(path, "pickle.npz")


def set_meta(key: str, value: Any) -> Callable[[dict, dict], None]:
    def change(arrays: dict, meta: dict) -> None:
        meta[key] = value

    return change


def drop_meta(key: str) -> Callable[[dict, dict], None]:
    def change(arrays: dict, meta: dict) -> None:
        del meta[key]

    return change


def edit_config(**values: Any) -> Callable[[dict, dict], None]:
    def change(arrays: dict, meta: dict) -> None:
        meta["config"].update(values)

    return change


def set_array(name: str, value: Any) -> Callable[[dict, dict], None]:
    def change(arrays: dict, meta: dict) -> None:
        if value is None:
            del arrays[name]
        else:
            arrays[name] = np.asarray(value)

    return change


BAD_CONTENTS = [
    pytest.param(set_meta("schema", "transformer-step-sim/session"), ("schema",), id="other-schema"),
    pytest.param(drop_meta("schema"), ("schema",), id="no-schema"),
    pytest.param(set_meta("version", 2), ("newer version", "2", "1"), id="newer-version"),
    pytest.param(set_meta("version", "1"), ("version",), id="version-as-text"),
    pytest.param(set_meta("version", 0), ("version",), id="version-zero"),
    pytest.param(drop_meta("config"), ("config",), id="no-config"),
    pytest.param(drop_meta("tokenizer"), ("tokenizer",), id="no-tokenizer"),
    pytest.param(set_meta("config", [1, 2]), ("config",), id="config-not-object"),
    pytest.param(edit_config(d_model="four"), ("d_model",), id="config-bad-type"),
    pytest.param(edit_config(norm="rms"), ("norm",), id="config-bad-choice"),
    pytest.param(edit_config(colour="blue"), ("colour",), id="config-unknown-key"),
    pytest.param(edit_config(n_ctx=5), ("pos_embed.W_pos", "shape"), id="config-disagrees-with-weights"),
    pytest.param(edit_config(vocab_size=3), ("tokenizer",), id="vocab-smaller-than-tokenizer"),
    pytest.param(set_meta("tokenizer", {"kind": "bpe"}), ("tokenizer kind",), id="unknown-tokenizer"),
    pytest.param(set_meta("tokenizer", {"kind": "word", "vocab": 5}), ("tokenizer",), id="tokenizer-bad-vocab"),
    pytest.param(set_meta("tokenizer", {"kind": "word", "vocab": ["a", "b"]}), ("<unk>",), id="tokenizer-no-unk"),
    pytest.param(set_meta("labels", {"dims": ["x"]}), ("d_model",), id="labels-wrong-count"),
    pytest.param(set_meta("labels", {"dims": 5}), ("model.npz",), id="labels-not-a-list"),
    pytest.param(set_meta("info", {"notes": 5}), ("model.npz",), id="info-notes-not-a-mapping"),
    pytest.param(set_array("param/embed.W_E", np.zeros((7, 5), dtype=np.float32)), ("embed.W_E", "shape"), id="wrong-shape"),
    pytest.param(set_array("param/blocks.0.attn.W_Q", np.zeros((2, 4), dtype=np.float32)), ("W_Q",), id="missing-axis"),
    pytest.param(set_array("param/unembed.b_U", None), ("missing", "unembed.b_U"), id="missing-param"),
    pytest.param(set_array("param/blocks.9.attn.W_Q", np.zeros(3)), ("unexpected", "blocks.9"), id="extra-param"),
    pytest.param(set_array("param/ln_final.w", np.array(["a"] * 4)), ("ln_final.w",), id="text-param"),
    pytest.param(set_array("param/ln_final.w", np.array([1, np.nan, 1, 1], dtype=np.float32)), ("nan",), id="nan-param"),
    pytest.param(set_array("param/ln_final.w", np.array([1, 2, 3, 4], dtype=np.complex64)), ("ln_final.w",), id="complex-param"),
]


@pytest.mark.parametrize(("change", "fragments"), BAD_CONTENTS)
def test_bad_contents_are_named(tmp_path: Path, saved: Path, change: Callable, fragments: tuple[str, ...]) -> None:
    path = rewrite(saved, tmp_path / "model.npz", change)
    assert_rejected(path, "model.npz", *fragments)


def test_missing_or_damaged_description(tmp_path: Path, saved: Path) -> None:
    arrays = members(saved)
    no_meta = tmp_path / "no_meta.npz"
    with open(no_meta, "wb") as handle:
        np.savez(handle, **{k: v for k, v in arrays.items() if k != META})
    assert_rejected(no_meta, META)
    for name, raw in (("not_json.npz", b"{config: nope"), ("not_utf8.npz", b"\xff\xfe\x00"), ("list.npz", b"[1, 2]")):
        path = tmp_path / name
        with open(path, "wb") as handle:
            np.savez(handle, **{**arrays, META: np.frombuffer(raw, dtype=np.uint8)})
        assert_rejected(path, name)


# -- failed saves ----------------------------------------------------------------------------------


def test_save_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(simulator.ModelFileError, match="does not exist"):
        simulator.save_model(make_model(), tmp_path / "absent" / "m.npz")
    assert not (tmp_path / "absent").exists()


def test_save_below_a_regular_file_fails_cleanly(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    with pytest.raises(simulator.ModelFileError, match="cannot save"):
        simulator.save_model(make_model(), blocker / "m.npz")
    assert blocker.read_text() == "I am a file"


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_failed_rename_keeps_the_existing_file(tmp_path: Path, saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved.read_bytes()

    def refuse(src: Any, dst: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    toy = simulator.load("toy")
    with pytest.raises(simulator.ModelFileError, match="Permission denied"):
        simulator.save_model(toy, saved)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert temp_files(saved.parent) == []
    assert simulator.load_model(saved).info.name == "tiny"


def test_failed_write_keeps_the_existing_file(tmp_path: Path, saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved.read_bytes()

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(simulator.ModelFileError, match="No space left"):
        simulator.save_model(simulator.load("toy"), saved)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert temp_files(saved.parent) == []


def test_interrupted_write_keeps_the_existing_file(tmp_path: Path, saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved.read_bytes()

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        simulator.save_model(simulator.load("toy"), saved)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert temp_files(saved.parent) == []


def test_save_replaces_an_older_file(tmp_path: Path, saved: Path) -> None:
    toy = simulator.load("toy")
    simulator.save_model(toy, saved)
    assert simulator.load_model(saved).info.name == "toy"
    assert temp_files(saved.parent) == []


def test_members_the_schema_does_not_name_are_never_read(tmp_path: Path) -> None:
    """An extra member announcing 10^12 values (4 TB) is ignored, not decompressed or refused."""
    model = make_model()
    path = tmp_path / "extra.npz"
    simulator.save_model(model, path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes/huge.npy", header.getvalue() + bytes(64))
    loaded = simulator.load(path)
    assert set(loaded.params) == set(model.params)
    for name, value in model.params.items():
        assert np.array_equal(loaded.params[name], value)


def test_headers_are_checked_before_any_member_is_inflated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A member whose shape disagrees with the config is refused from its header: no array is read."""
    from simulator import model_file

    model = make_model()
    path = tmp_path / "wrong.npz"
    arrays = model_file.model_arrays(model)
    arrays["param/embed.W_E"] = np.zeros((8, 4), np.float32)
    model_file.write_npz_atomic(path, arrays, {"schema": model_file.MODEL_SCHEMA, "version": 1, **model_file.model_meta(model)})
    read: list[str] = []
    original = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array", lambda stream, *a, **k: read.append(stream.name) or original(stream, *a, **k))
    with pytest.raises(simulator.ModelFileError, match=r"embed\.W_E must have shape \[7, 4\], got \[8, 4\]"):
        simulator.load(path)
    assert [name for name in read if name.startswith("param/")] == []
