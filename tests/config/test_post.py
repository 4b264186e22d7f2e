"""Lambda.PostCodeUri / PostHandler / PostTrigger: the post-processing function's settings, each
wrong one a single ConfigError line naming the fields."""
import pytest

from ncap_iac.config import load_document
from ncap_iac.config.model import PostFunction
from ncap_iac.errors import ConfigError

from factories import minimal_config

POST_CODE = "def handler(event, context):\n    return None\n"


def post_config(tmp_path, code_folder="post", module="post.py", **lambda_keys):
    """A config of tmp_path with the post folder `code_folder` holding `module` (None: no file)."""
    if module is not None:
        (tmp_path / code_folder / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / code_folder / module).write_text(POST_CODE)
    keys = {"PostCodeUri": code_folder, "PostHandler": "post.handler", **lambda_keys}
    return minimal_config(Lambda={k: v for k, v in keys.items() if v is not None})


def problems(doc, tmp_path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_document(doc, tmp_path)
    return [str(issue) for issue in caught.value.issues]


def test_a_config_without_post_keys_has_no_post_function(tmp_path):
    assert load_document(minimal_config(), tmp_path).post is None


def test_the_post_function_is_the_folder_the_handler_and_the_default_trigger(tmp_path):
    config = load_document(post_config(tmp_path), tmp_path)
    assert config.post == PostFunction(code_uri=(tmp_path / "post").resolve(), handler="post.handler",
                                       trigger="end.txt")
    assert not [n for n in config.notes if n.path.startswith("Lambda.Post")]


def test_a_package_holds_the_handler_too(tmp_path):
    config = load_document(post_config(tmp_path, module="post/__init__.py"), tmp_path)
    assert config.post.handler == "post.handler"


def test_a_given_trigger_is_kept(tmp_path):
    assert load_document(post_config(tmp_path, PostTrigger="_done.json"), tmp_path).post.trigger == "_done.json"


@pytest.mark.parametrize("given, missing", [("PostCodeUri", "PostHandler"), ("PostHandler", "PostCodeUri")])
def test_one_key_without_the_other_is_one_error_naming_both(tmp_path, given, missing):
    doc = post_config(tmp_path, **{missing: None})
    assert problems(doc, tmp_path) == [
        f"Lambda.{missing}: required with Lambda.{given}: the post-processing function's folder "
        f"(Lambda.PostCodeUri) and handler (Lambda.PostHandler) go together"]


def test_a_missing_folder_is_one_error_naming_the_folder_and_the_handler(tmp_path):
    [line] = problems(post_config(tmp_path, code_folder="nowhere", module=None), tmp_path)
    assert line.startswith("Lambda.PostCodeUri: folder 'nowhere' not found next to the config")
    assert line.endswith("so it cannot hold the handler post.handler (Lambda.PostHandler)")


def test_a_folder_without_the_handlers_module_is_one_error_naming_both(tmp_path):
    [line] = problems(post_config(tmp_path, module="other.py"), tmp_path)
    assert line.startswith("Lambda.PostHandler: folder 'post' (Lambda.PostCodeUri, ")
    assert line.endswith("has no post.py for the handler post.handler")


def test_a_module_without_the_function_is_one_error(tmp_path):
    [line] = problems(post_config(tmp_path, PostHandler="post.finish"), tmp_path)
    assert line.endswith("post.py defines no finish (the handler post.finish)")


def test_a_folder_with_the_products_names_is_refused(tmp_path):
    (tmp_path / "post" / "ncap_lambda").mkdir(parents=True)
    [line] = problems(post_config(tmp_path), tmp_path)
    assert line.startswith("Lambda.PostCodeUri: folder 'post' holds ncap_lambda, which the product adds")


@pytest.mark.parametrize("trigger, own, where", [
    ("t.json", "submit.json", "Trigger.Mode submit"),
    ("_submit.json", "submit.json", "Trigger.Mode submit"),
    ("-cancel.json", "cancel.json", "the labs' cancel requests"),
])
def test_a_trigger_overlapping_the_submit_rule_is_one_error_naming_both(tmp_path, trigger, own, where):
    assert problems(post_config(tmp_path, PostTrigger=trigger), tmp_path) == [
        f"Lambda.PostTrigger: '{trigger}' overlaps the pipeline's own trigger suffix '{own}' ({where}): "
        f"S3 refuses overlapping notification rules on one bucket"]


def test_a_trigger_overlapping_a_fileset_suffix_is_refused(tmp_path):
    doc = post_config(tmp_path, PostTrigger="4")
    doc["Trigger"] = {"Mode": "fileset", "Suffixes": [".mp4", ".hpf"]}
    assert problems(doc, tmp_path) == [
        "Lambda.PostTrigger: '4' overlaps the pipeline's own trigger suffix '.mp4' (Trigger.Suffixes): "
        "S3 refuses overlapping notification rules on one bucket"]


def test_a_trigger_matching_status_json_is_refused(tmp_path):
    [line] = problems(post_config(tmp_path, PostTrigger="status.json"), tmp_path)
    assert line.startswith("Lambda.PostTrigger: 'status.json' matches logs/status.json")


@pytest.mark.parametrize("key, value, message", [
    ("PostTrigger", "done/end.txt", "must be a file-name suffix (no control characters or /)"),
    ("PostTrigger", "", "must not be empty"),
    ("PostHandler", "post", "must be module.function, e.g. post.handler"),
    ("PostCodeUri", "po\tst", "must not hold control characters"),
])
def test_schema_refusals_are_one_line(tmp_path, key, value, message):
    [line] = problems(post_config(tmp_path, **{key: value}), tmp_path)
    assert line.startswith(f"Lambda.{key}: ") and message in line


def test_requirements_for_a_post_function_get_no_note(tmp_path):
    (tmp_path / "requirements.txt").write_text("numpy\n")
    config = load_document(post_config(tmp_path, Requirements="requirements.txt"), tmp_path)
    assert config.requirements == (tmp_path / "requirements.txt").resolve()
    assert not [n for n in config.notes if n.path == "Lambda.Requirements"]


def test_a_post_function_for_more_labs_than_its_role_can_name_is_refused(tmp_path):
    """Its role names each lab's results folder; IAM allows 10,240 characters of role policy."""
    folder = tmp_path / "post"
    folder.mkdir()
    (folder / "post.py").write_text("def handler(event, context):\n    return None\n")
    labs = [{"AffiliateName": f"lab{n:03d}", "UserNames": [f"user{n}"]} for n in range(300)]
    doc = minimal_config(Lambda={"PostCodeUri": "post", "PostHandler": "post.handler"}, UXData={"Affiliates": labs})
    found = problems(doc, tmp_path)
    assert len(found) == 1 and found[0].startswith("Lambda.PostCodeUri: the post-processing function's role "
                                                   "would name the results of 300 labs")
    doc["UXData"]["Affiliates"] = labs[:150]
    load_document(doc, tmp_path)


def test_a_fileset_suffix_overlapping_the_cancel_requests_is_refused(tmp_path):
    doc = minimal_config(Trigger={"Mode": "fileset", "Suffixes": [".mp4", ".json"]})
    assert "Trigger.Suffixes[1]: '.json' overlaps 'cancel.json', the suffix of the labs' cancel requests: S3 " \
        "rejects overlapping notification rules" in problems(doc, tmp_path)
