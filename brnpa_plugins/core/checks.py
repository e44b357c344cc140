"""Argument checks whose errors name the bad value."""


def check_positive_int(value, name: str, owner: str = '', hint: str = ''):
    """Raise ValueError unless ``value`` is an int >= 1 (bool excluded).

    Args:
        value: the value to check.
        name: the argument's name, as the user wrote it.
        owner: prefix naming the module, e.g. ``'BRNPAHead: '``.
        hint: a sentence on what to set it to.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        message = f'{owner}{name} must be a positive integer, got {value!r}'
        raise ValueError(f'{message}; {hint}' if hint else message)
