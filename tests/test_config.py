import pytest

from utils.config import ConfigError, parse_overrides

DEFAULTS = {"model": "dkvmn", "epochs": 10, "learning_rate": 1e-3, "key_projection": False}


def test_overrides_are_typed_like_their_defaults():
    config = parse_overrides(["--model", "dkt", "--epochs=3", "--learning_rate", "0.05",
                              "--key_projection", "true"], DEFAULTS)
    assert config == {"model": "dkt", "epochs": 3, "learning_rate": 0.05, "key_projection": True}
    assert isinstance(config["epochs"], int) and isinstance(config["learning_rate"], float)


def test_no_overrides_keep_the_defaults_and_do_not_touch_them():
    defaults = dict(DEFAULTS)
    assert parse_overrides([], defaults) == DEFAULTS
    parse_overrides(["--epochs", "1"], defaults)
    assert defaults == DEFAULTS


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError) as error:
        parse_overrides(["--epoch", "3"], DEFAULTS)
    message = str(error.value)
    assert "--epoch" in message and "--epochs" in message and "--learning_rate" in message


@pytest.mark.parametrize("argv, fragment", [
    (["--epochs", "2.5"], "integer"),
    (["--learning_rate", "fast"], "number"),
    (["--key_projection", "maybe"], "true or false"),
    (["--epochs"], "needs a value"),
    (["epochs", "3"], "unexpected argument"),
])
def test_bad_values_say_what_was_expected(argv, fragment):
    with pytest.raises(ConfigError) as error:
        parse_overrides(argv, DEFAULTS)
    assert fragment in str(error.value)
