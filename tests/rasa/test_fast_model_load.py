"""Prediction-only loading of DIET (server/patches/fast_model_load.py) answers exactly as Rasa's own
load: one trained model, loaded both ways in this process, on every held-out message of the
three languages; and what the fast path cannot load, Rasa's path loads, with a warning."""

from __future__ import annotations

import asyncio
import logging
import tarfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from apt_settings import ROOT
from server.patches import fast_model_load

HELD_OUT = [ROOT / "tests" / name for name in ("test_nlu.yml", "test_nlu_fr.yml", "test_nlu_es.yml")]
TOLERANCE = 1e-5


def held_out_texts() -> List[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    texts: List[str] = []
    for path in HELD_OUT:
        texts += [message.get("text") for message in load_data(str(path)).intent_examples]
    return texts


def parse_all(agent: Any, texts: List[str]) -> List[Dict[str, Any]]:
    from rasa.core.channels.channel import UserMessage

    async def parse() -> List[Dict[str, Any]]:
        return [await agent.processor.parse_message(UserMessage(text=text)) for text in texts]

    return asyncio.run(parse())


def diet_model(agent: Any) -> Any:
    """The DIET network inside a loaded agent's graph."""
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    for node in agent.processor.graph_runner._instantiated_nodes.values():
        component = getattr(node, "_component", None)
        if isinstance(component, DIETClassifier):
            return component.model
    raise AssertionError("no DIETClassifier in the model's graph")


@pytest.fixture(scope="module")
def loaded_both_ways(trained_model: Path) -> Iterator[Tuple[Any, Any]]:
    """The one model, loaded for prediction only and with Rasa's own load."""
    from rasa.core.agent import Agent

    fast_model_load.install()
    try:
        fast = Agent.load(str(trained_model))
        fast_model_load.uninstall()
        rasa = Agent.load(str(trained_model))
    finally:
        fast_model_load.uninstall()
    yield fast, rasa


def test_the_fast_path_builds_no_optimizer_and_rasas_does(loaded_both_ways: Tuple[Any, Any]) -> None:
    fast, rasa = loaded_both_ways
    assert diet_model(fast).optimizer is None
    assert diet_model(rasa).optimizer is not None


def test_every_held_out_message_reads_the_same_both_ways(loaded_both_ways: Tuple[Any, Any]) -> None:
    fast, rasa = loaded_both_ways
    texts = held_out_texts()
    assert len(texts) > 1000  # the three languages' held-out sets
    differences = []
    for text, ours, theirs in zip(texts, parse_all(fast, texts), parse_all(rasa, texts), strict=True):
        ranked = [(i["name"], i["confidence"]) for i in ours["intent_ranking"]]
        expected = [(i["name"], i["confidence"]) for i in theirs["intent_ranking"]]
        if [name for name, _ in ranked] != [name for name, _ in expected]:
            differences.append(f"{text!r}: ranking {ranked} against {expected}")
        elif any(abs(a - b) > TOLERANCE for (_, a), (_, b) in zip(ranked, expected, strict=False)):
            differences.append(f"{text!r}: confidences {ranked} against {expected}")
        if ours["intent"]["name"] != theirs["intent"]["name"]:
            differences.append(f"{text!r}: intent {ours['intent']} against {theirs['intent']}")
        if entities(ours) != entities(theirs) or not close_entity_confidences(ours, theirs):
            differences.append(f"{text!r}: entities {ours['entities']} against {theirs['entities']}")
    assert not differences, f"{len(differences)} of {len(texts)} differ:\n" + "\n".join(differences[:20])


def entities(parsed: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every field of every entity but the confidences (compared within the tolerance)."""
    return [{k: v for k, v in e.items() if not k.startswith("confidence")} for e in parsed["entities"]]


def close_entity_confidences(ours: Dict[str, Any], theirs: Dict[str, Any]) -> bool:
    for a, b in zip(ours["entities"], theirs["entities"], strict=True):
        for key in {k for k in a if k.startswith("confidence")} | {
            k for k in b if k.startswith("confidence")
        }:
            if key not in a or key not in b or abs(float(a[key]) - float(b[key])) > TOLERANCE:
                return False
    return True


# -- what the fast path refuses goes to Rasa's --------------------------------------------------


@pytest.fixture(scope="module")
def diet_files(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """What DIETClassifier reads from the model to build its network, unpacked."""
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.shared.nlu.constants import TEXT
    from rasa.utils.tensorflow.model_data import RasaModelData
    from rasa.utils.tensorflow.models import LABEL_KEY, LABEL_SUB_KEY

    directory = tmp_path_factory.mktemp("diet")
    with tarfile.open(trained_model) as archive:
        members = [m for m in archive.getmembers() if "DIETClassifier" in m.name and m.isfile()]
        archive.extractall(directory, members=members)  # the project's own model
    [model_path] = {p.parent for p in directory.rglob("DIETClassifier.tf_model.index")}
    mapping, specs, label_data, data_example, _ = DIETClassifier._load_from_files(model_path)
    from rasa.utils import train_utils

    config = train_utils.update_similarity_type(
        train_utils.update_confidence_type(
            {**DIETClassifier.get_default_config(), **diet_config()},
        )
    )
    example = RasaModelData(label_key=LABEL_KEY, label_sub_key=LABEL_SUB_KEY, data=data_example)
    predict = RasaModelData(
        label_key=LABEL_KEY, data={name: f for name, f in example.items() if TEXT in name}
    )
    return {
        "file": str(model_path / "DIETClassifier.tf_model"),
        "example": example,
        "predict": predict,
        "kwargs": {
            "data_signature": example.get_signature(),
            "label_data": label_data,
            "entity_tag_specs": specs,
            "config": config,
        },
    }


def diet_config() -> Dict[str, Any]:
    import yaml

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    [diet] = [step for step in pipeline if step["name"] == "DIETClassifier"]
    return {key: value for key, value in diet.items() if key != "name"}


def test_a_model_without_a_prediction_example_loads_rasas_way_with_a_warning(
    diet_files: Dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from rasa.nlu.classifiers.diet_classifier import DIET

    with caplog.at_level(logging.WARNING, logger=fast_model_load.__name__):
        model = fast_model_load.load(
            DIET, diet_files["file"], diet_files["example"], None, False, **diet_files["kwargs"]
        )
    assert model.optimizer is not None  # Rasa's path: compiled and fitted, then the weights
    assert "Rasa's own" in caplog.text and "no example" in caplog.text


def test_what_is_not_a_checkpoint_is_refused(diet_files: Dict[str, Any], tmp_path: Path) -> None:
    from rasa.nlu.classifiers.diet_classifier import DIET

    with pytest.raises(fast_model_load.CannotLoadFast, match="not a TensorFlow checkpoint"):
        fast_model_load.load_for_prediction(
            DIET, str(tmp_path / "DIETClassifier.tf_model"), diet_files["predict"], **diet_files["kwargs"]
        )


def test_a_network_with_weights_the_checkpoint_lacks_is_refused(diet_files: Dict[str, Any]) -> None:
    """A second transformer layer the model was not trained with: restoring would leave it with
    random weights (which Rasa's own load does, silently), so the fast path refuses."""
    from rasa.nlu.classifiers.diet_classifier import DIET

    kwargs = diet_files["kwargs"]
    deeper = {**kwargs, "config": {**kwargs["config"], "number_of_transformer_layers": 2}}
    with pytest.raises(fast_model_load.CannotLoadFast):
        fast_model_load.load_for_prediction(DIET, diet_files["file"], diet_files["predict"], **deeper)
    model = fast_model_load.load_for_prediction(DIET, diet_files["file"], diet_files["predict"], **kwargs)
    assert model.optimizer is None


def test_fine_tuning_keeps_rasas_path_with_its_optimizer(diet_files: Dict[str, Any]) -> None:
    from rasa.nlu.classifiers.diet_classifier import DIET

    model = fast_model_load.load(
        DIET, diet_files["file"], diet_files["example"], diet_files["predict"], True, **diet_files["kwargs"]
    )
    assert model.optimizer is not None
