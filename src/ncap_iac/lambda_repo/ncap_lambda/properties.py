"""Reading custom-resource properties (CloudFormation passes scalars as strings)."""
TRUE_WORDS = {"true"}
FALSE_WORDS = {"false", ""}


def text(properties, name):
    """A required non-empty string property."""
    value = properties.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"property {name} must be a non-empty string, got {value!r}")
    return value


def name_list(properties, name):
    """A list of non-empty strings, duplicates dropped, order kept."""
    value = properties.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"property {name} must be a list of non-empty strings, got {value!r}")
    return list(dict.fromkeys(value))


def flag(properties, name, default=False):
    """A boolean property given as "true"/"false" (any case) or as a JSON boolean."""
    value = properties.get(name, default)
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ValueError(f"property {name} must be \"true\" or \"false\", got {value!r}")

