"""The quick check says a document conforms exactly when the full JSON Schema validator finds no
error: on every example and fixture, and on documents made from them by changing one value."""
import copy
import json

from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ncap_iac.config.conforms import Undecided, conforms
from ncap_iac.config.schema import schema, schema_issues

from conftest import EXAMPLES, FIXTURES, example_config
from fuzz import examples

DOCUMENTS = [json.loads(example_config(name).read_text()) for name in EXAMPLES] + \
    [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*/*.json"))]
FULL = Draft202012Validator(schema())
VALID = [json.loads(example_config(name).read_text()) for name in EXAMPLES] + \
    [json.loads(p.read_text()) for p in sorted((FIXTURES / "valid").glob("*.json"))]


def full_says_valid(document) -> bool:
    return next(FULL.iter_errors(document), None) is None


def quick_verdict(document):
    """True or False, or None where the quick check leaves the document to the full validator."""
    try:
        return conforms(document, schema())
    except Undecided:
        return None


def test_agrees_on_every_example_and_fixture():
    verdicts = [(conforms(doc, schema()), full_says_valid(doc)) for doc in DOCUMENTS]
    assert [quick for quick, _ in verdicts] == [full for _, full in verdicts]
    assert any(full for _, full in verdicts) and not all(full for _, full in verdicts)


def paths(node, prefix=()):
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        yield from paths(child, prefix + (key,))


def changed(document, path, value):
    doc = copy.deepcopy(document)
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100_000) | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=5)
EDGES = [0, 1, 1.0, 1.5, -1, 10**7, True, False, "", "x" * 65, "x" * 300, "x" * 4097, "\x1f", "sg-0123abcd",
         "a b", [], ["a", "a"], ["a", 1], {}, None, "p2.xlarge", "FIFO"]
SPECIAL = st.sampled_from(EDGES)


def test_agrees_with_every_edge_value_at_every_place_of_every_example():
    disagreements = []
    for document in VALID:
        for path in paths(document):
            for value in EDGES:
                doc = changed(document, path, value)
                if quick_verdict(doc) not in (None, full_says_valid(doc)):
                    disagreements.append((document["PipelineName"], path, value))
    assert disagreements == []


@hsettings(max_examples=examples(400))
@given(st.sampled_from(range(len(DOCUMENTS))), st.data(), JSON_VALUES | SPECIAL)
@example(0, None, True)
def test_agrees_after_changing_one_value(index, data, value):
    document = DOCUMENTS[index]
    every_path = list(paths(document))
    path = every_path[0] if data is None else data.draw(st.sampled_from(every_path))
    doc = changed(document, path, value)
    assert quick_verdict(doc) in (None, full_says_valid(doc))


def test_a_document_the_quick_check_refuses_gets_every_problem_named():
    doc = changed(changed(DOCUMENTS[0], ("Workers", "MinSize"), "soon"), ("Workers", "MaxSize"), -1)
    assert not conforms(doc, schema())
    assert [issue.path for issue in schema_issues(doc)] == ["Workers.MaxSize", "Workers.MinSize"]
