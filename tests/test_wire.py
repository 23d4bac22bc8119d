"""Wire format: signature files, the MLmodel section, and MLflow reading what sigbatch writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sigbatch import ColSpec, ModelSignature, Schema, SignatureFileError, load_signature, set_signature

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(
    p for p in GOLDEN.glob("*.json") if p.name != "errors.json" and "source_json" not in p.read_text()
)


def _signature_block(mlmodel_text: str) -> str:
    lines = mlmodel_text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("signature:"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return "".join(lines[start:end])


class _Identity:
    """A trivial MLflow PythonModel returning its input."""


@pytest.fixture(scope="module")
def mlflow_model_dir(tmp_path_factory):
    """A model directory written by real MLflow, without a signature."""
    import mlflow.pyfunc

    class Identity(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    path = tmp_path_factory.mktemp("mlflow") / "model"
    mlflow.pyfunc.save_model(str(path), python_model=Identity())
    return path


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_set_signature_writes_mlflows_section_and_mlflow_loads_it(path, mlflow_model_dir, tmp_path):
    """set_signature on an MLflow model dir writes MLflow's exact section; MLflow loads an equal signature."""
    import shutil

    from mlflow.models import Model
    from mlflow.models import set_signature as mlflow_set_signature
    from mlflow.models.signature import ModelSignature as MlflowSignature

    g = json.loads(path.read_text())
    model, theirs = tmp_path / "m", tmp_path / "theirs"
    shutil.copytree(mlflow_model_dir, model)
    shutil.copytree(mlflow_model_dir, theirs)
    set_signature(model, ModelSignature.from_dict(g["signature_dict"]))
    mlflow_set_signature(str(theirs), MlflowSignature.from_dict(g["signature_dict"]))
    text = (model / "MLmodel").read_text()
    assert _signature_block(text) == g["mlmodel_yaml"]
    assert text == (theirs / "MLmodel").read_text()  # every other key as MLflow writes it
    assert Model.load(str(model)).signature == MlflowSignature.from_dict(g["signature_dict"])
    assert load_signature(model) == ModelSignature.from_dict(g["signature_dict"])


def test_load_signature_reads_every_file_kind(tmp_path):
    """A model dir, an MLmodel file, a .json and a .yaml signature file all give the same signature."""
    sig = ModelSignature(Schema([ColSpec("double", "x"), ColSpec("string", "y", required=False)]))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text(yaml.safe_dump({"flavors": {}, "signature": sig.to_dict()}))
    (tmp_path / "sig.json").write_text(json.dumps(sig.to_dict()))
    (tmp_path / "sig.yaml").write_text(yaml.safe_dump({"signature": sig.to_dict()}))
    parsed = {part: json.loads(v) if v else None for part, v in sig.to_dict().items()}
    (tmp_path / "parsed.json").write_text(json.dumps(parsed))
    for p in ("model", "model/MLmodel", "sig.json", "sig.yaml", "parsed.json"):
        assert load_signature(tmp_path / p) == sig


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("{not json", "bad.json", r"bad\.json: invalid JSON"),
        (
            '{"inputs": "[{\\"type\\": \\"strin\\", \\"name\\": \\"a\\"}]"}',
            "s.json",
            r"s\.json: key inputs\[0\]\.type: unsupported type 'strin'",
        ),
        ('{"inputs": "[{\\"name\\": \\"a\\"}]"}', "s.json", r"s\.json: key inputs\[0\]: missing key 'type'"),
        (
            '{"inputs": "[{\\"type\\": \\"array\\", \\"name\\": \\"a\\"}]"}',
            "s.json",
            r"key inputs\[0\]: an array needs an 'items' key",
        ),
        (
            '{"params": "[{\\"name\\": \\"p\\", \\"type\\": \\"long\\"}]"}',
            "s.json",
            r"key params\[0\]: missing keys",
        ),
        (
            '{"inputs": "[{\\"type\\": \\"long\\", \\"name\\": \\"a\\", \\"colour\\": 1}]"}',
            "s.json",
            r"key inputs\[0\]: unexpected key\(s\) \['colour'\]",
        ),
        (
            '{"inputs": [{"type": "array", "items": {"type": "long"}, "name": "x", "required": "no"}]}',
            "s.json",
            r"s\.json: key inputs\[0\]\.required: expected true, false, 0 or 1, got 'no'$",
        ),
        (
            '{"inputs": [{"type": "object", "name": "o", "properties": {"p": {"type": "long", "required": 2}}}]}',
            "s.json",
            r"s\.json: key inputs\[0\]\.properties\.p\.required: expected true, false, 0 or 1, got 2$",
        ),
        (
            '{"inputs": [{"type": "tensor", "tensor-spec": {"dtype": "2020-01-01", "shape": [-1]}}]}',
            "s.json",
            r"s\.json: key inputs\[0\]\.tensor-spec\.dtype: not a numpy dtype: '2020-01-01'$",
        ),
        (
            '{"inputs": [{"type": "tensor", "tensor-spec": {"dtype": "(float32,2)", "shape": [-1]}}]}',
            "s.json",
            r"s\.json: key inputs\[0\]\.tensor-spec\.dtype: not a numpy dtype: '\(float32,2\)'$",
        ),
        (
            '{"params": [{"name": "p", "type": "long", "default": 1, "shape": 5}]}',
            "s.json",
            r"s\.json: key params\[0\]\.shape: expected null or a list such as \[-1\], got 5$",
        ),
        (
            '{"params": [{"name": "p", "type": null, "default": 1}]}',
            "s.json",
            r"s\.json: key params\[0\]\.type: expected a type name, got None$",
        ),
        ('{"inputs": null, "outputs": null}', "s.json", r"none of inputs, outputs or params is set"),
        ('{"inputz": "[]"}', "s.json", r"unexpected key\(s\) \['inputz'\]"),
        ("flavors: {}\n", "MLmodel", r"MLmodel: key signature: the model has no signature"),
        ("signature: [1, 2\n", "MLmodel", r"MLmodel: invalid YAML"),
    ],
)
def test_malformed_files_name_file_key_and_problem(tmp_path, content, name, message):
    """A broken signature file fails with an error naming the file, the key and what was wrong."""
    target = tmp_path / name
    target.write_text(content)
    with pytest.raises(SignatureFileError, match=message):
        load_signature(target)


def test_reads_what_mlflow_reads(tmp_path):
    """What MLflow's reader accepts is read to the same signature: null tensor dimensions, 0 and 1
    for required (as a ColSpec built with them writes), extra keys of a complex column, empty or
    false parts, and (in an MLmodel, which a later MLflow may extend) other signature keys."""
    from mlflow.models.signature import ModelSignature as MlflowSignature

    tensor = [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [None, 3]}}]
    described = [{"type": "array", "items": {"type": "long"}, "name": "a", "description": "ids"}]
    col = [{"type": "long", "name": "x", "required": 0}]
    cases = [
        {"inputs": json.dumps(tensor)},
        {"inputs": json.dumps(col)},
        {"inputs": json.dumps(described)},
        {"inputs": False, "outputs": json.dumps(col)},
        {"inputs": {}, "outputs": json.dumps(col)},
        {"inputs": json.dumps(col), "comment": "from a later MLflow"},
    ]
    for case in cases:
        ours, theirs = ModelSignature.from_dict(case), MlflowSignature.from_dict(case)
        assert ours.to_dict() == theirs.to_dict()
        assert repr(ours) == repr(theirs)
        assert ModelSignature.from_dict(ours.to_dict()) == ours  # what sigbatch writes, it reads
    model = _model(tmp_path, f"flavors: {{}}\nsignature:\n  comment: x\n  inputs: '{json.dumps(col)}'\n")
    assert load_signature(model) == ModelSignature(Schema([ColSpec("long", "x", required=0)]))
    assert repr(load_signature(model).inputs) == "['x': long (optional)]"
    assert ModelSignature.from_dict({"inputs": json.dumps(tensor)}).inputs.inputs[0].shape == (None, 3)


def test_missing_paths_are_clear(tmp_path):
    """A directory without MLmodel, or a missing file, says so."""
    with pytest.raises(SignatureFileError, match="must contain an MLmodel file"):
        load_signature(tmp_path)
    with pytest.raises(SignatureFileError, match="no such file"):
        set_signature(tmp_path, ModelSignature(Schema([ColSpec("long")])))


# --- set_signature: only a model's MLmodel, and never a silent loss ------------------------------

_INPUTS = Schema([ColSpec("long", "id")])
_OUTPUTS = Schema([ColSpec("double", "y")])


def _model(tmp_path, text: str) -> Path:
    """A model directory whose MLmodel holds ``text``."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text(text)
    return model


def test_set_signature_refuses_a_file_that_is_not_mlmodel(tmp_path):
    """Any other YAML file is refused, untouched (its comments kept), naming it."""
    victim = tmp_path / "infer.yaml"
    victim.write_text("# my settings\nengine: spark\n")
    with pytest.raises(SignatureFileError) as info:
        set_signature(victim, ModelSignature(_INPUTS))
    assert str(info.value) == (
        f"{victim}: not a model directory nor an MLmodel file; set_signature writes only a model's "
        "MLmodel (give the model directory)"
    )
    assert victim.read_text() == "# my settings\nengine: spark\n"


def test_set_signature_keeps_existing_parts_or_refuses_a_broken_signature(tmp_path):
    """keep_existing keeps readable outputs; unreadable current inputs are an error, the file untouched."""
    outputs = json.dumps(_OUTPUTS.to_dict())
    model = _model(tmp_path, f"flavors: {{}}\nsignature:\n  inputs: '[1'\n  outputs: '{outputs}'\n")
    before = (model / "MLmodel").read_text()
    with pytest.raises(SignatureFileError) as info:
        set_signature(model, ModelSignature(_INPUTS), keep_existing=True)
    message = str(info.value)
    assert message.startswith(f"{model / 'MLmodel'}: invalid JSON (")
    assert message.endswith(
        "; the current signature cannot be read, so its outputs and params cannot be kept. "
        f"Hint: fix or remove the signature section of {model / 'MLmodel'}, then set the inputs again."
    )
    assert (model / "MLmodel").read_text() == before
    (model / "MLmodel").write_text(f"flavors: {{}}\nsignature:\n  inputs: null\n  outputs: '{outputs}'\n")
    set_signature(model, ModelSignature(_INPUTS), keep_existing=True)
    assert load_signature(model) == ModelSignature(_INPUTS, _OUTPUTS)
    set_signature(model, ModelSignature(_INPUTS))  # without keep_existing: exactly what is given
    assert load_signature(model) == ModelSignature(_INPUTS)


def test_set_signature_on_a_type_hinted_model_makes_mlflow_enforce_it(tmp_path):
    """A model whose signature came from its type hints: the signature set replaces it, and MLflow's
    predict then enforces it (with the hint flags left true, pyfunc skipped the schema check)."""
    import shutil

    import mlflow.pyfunc
    import pandas as pd
    from mlflow.models import set_signature as mlflow_set_signature
    from mlflow.models.signature import ModelSignature as MlflowSignature

    class Hinted(mlflow.pyfunc.PythonModel):
        def predict(self, model_input: list[str], params=None) -> list[str]:
            return [type(x).__name__ for x in model_input]

    model, theirs = tmp_path / "m", tmp_path / "theirs"
    mlflow.pyfunc.save_model(str(model), python_model=Hinted())
    assert yaml.safe_load((model / "MLmodel").read_text())["is_signature_from_type_hint"] is True
    shutil.copytree(model, theirs)
    sig = ModelSignature(Schema([ColSpec("long", "x")]))
    set_signature(model, sig)
    mlflow_set_signature(str(theirs), MlflowSignature.from_dict(sig.to_dict()))
    assert (model / "MLmodel").read_text() == (theirs / "MLmodel").read_text()
    doc = yaml.safe_load((model / "MLmodel").read_text())
    assert (doc["is_signature_from_type_hint"], doc["type_hint_from_example"]) == (False, False)
    with pytest.raises(mlflow.exceptions.MlflowException, match="Can not safely convert"):
        mlflow.pyfunc.load_model(str(model)).predict(pd.DataFrame({"x": ["abc"]}))


def test_set_signature_keep_existing_keeps_the_hint_flags_only_with_the_inputs(tmp_path):
    """Setting only outputs over a type-hinted signature keeps its inputs and their provenance;
    setting inputs marks the signature as not from hints."""
    inputs = json.dumps(_INPUTS.to_dict())
    model = _model(
        tmp_path,
        f"flavors: {{}}\nis_signature_from_type_hint: true\nsignature:\n  inputs: '{inputs}'\n"
        "type_hint_from_example: true\n",
    )
    set_signature(model, ModelSignature(outputs=_OUTPUTS), keep_existing=True)
    doc = yaml.safe_load((model / "MLmodel").read_text())
    assert (doc["is_signature_from_type_hint"], doc["type_hint_from_example"]) == (True, True)
    assert load_signature(model) == ModelSignature(_INPUTS, _OUTPUTS)
    set_signature(model, ModelSignature(_INPUTS), keep_existing=True)
    doc = yaml.safe_load((model / "MLmodel").read_text())
    assert (doc["is_signature_from_type_hint"], doc["type_hint_from_example"]) == (False, False)


def test_set_signature_refuses_mlmodel_that_is_not_utf8(tmp_path):
    """An MLmodel that is not UTF-8 is a SignatureFileError naming the file and the byte."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_bytes(b'flavors: {}\nnote: "\xff\xfe"\n')
    with pytest.raises(SignatureFileError) as info:
        set_signature(model, ModelSignature(_INPUTS))
    assert str(info.value) == (
        f"{model / 'MLmodel'}: not UTF-8 text (invalid start byte at byte offset 19); an MLmodel file is UTF-8 YAML"
    )


def test_set_signature_writes_atomically_beside_odd_files(tmp_path, monkeypatch):
    """A stale temporary path does not block the write, the file mode is kept; an unwritable dir is clear."""
    import stat
    import tempfile

    model = _model(tmp_path, "flavors: {}\n")
    (model / "MLmodel").chmod(0o640)
    (model / "MLmodel.sigbatch-tmp").mkdir()
    set_signature(model, ModelSignature(_INPUTS))
    assert load_signature(model) == ModelSignature(_INPUTS)
    assert stat.S_IMODE((model / "MLmodel").stat().st_mode) == 0o640
    assert sorted(p.name for p in model.iterdir()) == ["MLmodel", "MLmodel.sigbatch-tmp"]

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(SignatureFileError) as info:
        set_signature(model, ModelSignature(_OUTPUTS))
    assert str(info.value) == f"{model / 'MLmodel'}: cannot write in {model} (Permission denied)"
    assert load_signature(model) == ModelSignature(_INPUTS)
