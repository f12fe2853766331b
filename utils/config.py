"""Command-line overrides of the constants at the top of main.py.

Every constant NAME can be set as `--name value` or `--name=value`; the value is parsed with the type of
the constant's default, so `--epochs 5` is an int and `--key_projection true` a bool.
"""

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class ConfigError(Exception):
    """A command line that does not match the constants; the message is shown to the user as is."""


def parse_overrides(argv, defaults):
    """Returns a copy of `defaults` (lower-case name -> value) with the overrides of `argv` applied."""
    config = dict(defaults)
    pending = list(argv)
    while pending:
        word = pending.pop(0)
        if not word.startswith("--"):
            raise ConfigError("unexpected argument %r: overrides are written --name value" % word)
        name, has_value, value = word[2:].partition("=")
        if name not in defaults:
            raise ConfigError("unknown option --%s; valid options: %s" % (name, ", ".join(
                "--" + key for key in sorted(defaults))))
        if not has_value:
            if not pending:
                raise ConfigError("--%s needs a value (default: %r)" % (name, defaults[name]))
            value = pending.pop(0)
        config[name] = parse_value(name, value, defaults[name])
    return config


def parse_value(name, text, default):
    """Parses `text` as the type of `default`."""
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered in TRUE_WORDS or lowered in FALSE_WORDS:
            return lowered in TRUE_WORDS
        raise ConfigError("--%s takes true or false, not %r" % (name, text))
    for number_type in (int, float):
        if isinstance(default, number_type):
            try:
                return number_type(text)
            except ValueError:
                raise ConfigError("--%s takes %s, not %r" % (name, describe(number_type), text))
    return text


def describe(number_type):
    return "an integer" if number_type is int else "a number"
