"""Argument checks whose errors name the bad value."""
import contextlib
import difflib
import functools
import inspect
import numbers
from typing import (Any, Callable, Iterable, Iterator, List, Mapping, Optional,
                    Sequence)


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


def check_positive_options(parser, args, names: Iterable[str]) -> None:
    """Stop a command line (``parser.error``) at the first option of
    ``names`` (argparse destinations) set below 1; unset (None) ones pass."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')


def check_probability(value, name: str, owner: str = '', hint: str = ''):
    """Raise ValueError unless ``value`` is a real number in [0, 1).

    For dropout-like rates: 1 would drop everything. Bools, strings and NaN
    are refused. Arguments as in :func:`check_positive_int`.
    """
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or \
            not 0 <= value < 1:
        message = f'{owner}{name} must be a number in [0, 1), got {value!r}'
        raise ValueError(f'{message}; {hint}' if hint else message)


class UnknownKeyError(KeyError, ValueError):
    """A config key nothing reads; the message names close known keys.

    A KeyError (what yacs and dict lookups raise) and a ValueError (a bad
    config value), printed without the quotes KeyError adds.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def close_names(name: str, known: Iterable[str], n: int = 1) -> List[str]:
    """The names of ``known`` closest to a misspelt ``name`` (difflib)."""
    return difflib.get_close_matches(str(name), [str(k) for k in known], n=n,
                                     cutoff=0.5)


def check_known_names(given: Iterable[str], known: Iterable[str],
                      subject: str, kind: str = 'key', prefix: str = '',
                      error: Callable[[str], Exception] = UnknownKeyError
                      ) -> None:
    """Raise ``error`` naming every name of ``given`` that is not known.

    The message gives each unknown name with ``prefix``, the closest known
    name (difflib) as a suggestion, and all known names, e.g. ``config
    x.py: unknown key 'train.episods' (did you mean 'train.episodes'?);
    known keys of train: episodes, val_interval``.

    Args:
        given: the names that were written.
        known: the accepted names, in the order they are listed.
        subject: what holds the names (``'BRNPANeck'``, ``'config x.py'``).
        kind: what a name is (``'key'``, ``'argument'``).
        prefix: written before each name (``'train.'`` for a section).
        error: the exception class.
    """
    known = [str(name) for name in known]
    unknown = [str(name) for name in given if str(name) not in known]
    if not unknown:
        return
    described = []
    for name in unknown:
        close = close_names(name, known)
        hint = f' (did you mean {prefix + close[0]!r}?)' if close else ''
        described.append(f'{prefix + name!r}{hint}')
    plural = 's' if len(unknown) > 1 else ''
    section = f' of {prefix[:-1]}' if prefix else ''
    raise error(f'{subject}: unknown {kind}{plural} {", ".join(described)}; '
                f'known {kind}s{section}: {", ".join(known) or "none"}')


def check_config_keys(given: Mapping, known: Mapping, subject: str,
                      prefix: str = '') -> None:
    """:func:`check_known_names` on a tree of config sections.

    Sections are dicts; a given section is checked where ``known`` holds a
    dict under the same key (its keys are the known ones there). Raises
    :class:`UnknownKeyError`.
    """
    check_known_names(given, known, subject, prefix=prefix)
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(known[key], Mapping):
            check_config_keys(value, known[key], subject, f'{prefix}{key}.')


def keyword_names(target: Callable,
                  forwarded: Optional[Mapping[type, Sequence[str]]] = None
                  ) -> Optional[List[str]]:
    """The names ``target`` accepts as keyword arguments, in order.

    For a class, the arguments of its ``__init__``; an ``__init__`` that
    takes ``**kwargs`` passes them to its base class, whose arguments are
    added, up the method resolution order. None when the names cannot be
    told (``**kwargs`` that reach no named argument).

    Args:
        forwarded: classes whose ``**kwargs`` go elsewhere than to a base
            class, and the names read there: the walk ends at such a
            class, with those names added.
    """
    if inspect.isclass(target):
        owners = [cls for cls in target.__mro__ if '__init__' in vars(cls)]
        functions = [vars(cls)['__init__'] for cls in owners]
    else:
        owners, functions = [None], [target]
    names = []
    for owner, function in zip(owners, functions):
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):  # a builtin without a signature
            return None
        parameters = list(signature.parameters.values())
        if inspect.isclass(target):
            parameters = parameters[1:]  # self
        names += [p.name for p in parameters if p.kind in (
            p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names]
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names
        if forwarded and owner in forwarded:
            return names + [n for n in forwarded[owner] if n not in names]
    return None


def check_kwargs(target: Callable, kwargs: Mapping[str, Any],
                 owner: str = '', given: int = 0) -> None:
    """Raise a TypeError if ``target`` does not accept a key of ``kwargs``.

    Unlike Python's ``unexpected keyword argument``, the message names the
    closest accepted name and lists them all, e.g. ``BRNPANeck: unknown
    argument 'num_part' (did you mean 'num_parts'?); known arguments:
    in_channels, num_parts, ...``.

    Args:
        target: the class or function the arguments are for.
        kwargs: the keyword arguments a config or a caller gives it.
        owner: how the message names the target; its ``__name__`` by default.
        given: how many leading arguments the caller itself passes
            positionally; they are not offered to the user.
    """
    names = keyword_names(target)
    if names is not None:
        check_known_names(kwargs, names[given:], owner or target.__name__,
                          kind='argument', error=TypeError)


def reject_unknown_kwargs(cls: type) -> type:
    """Class decorator: ``cls(**kwargs)`` runs :func:`check_kwargs` first.

    Python rejects an unknown keyword before ``__init__`` runs, so the check
    wraps ``__init__``; the signature stays visible through ``__wrapped__``.
    """
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        check_kwargs(cls, kwargs)
        init(self, *args, **kwargs)

    cls.__init__ = __init__
    return cls


@contextlib.contextmanager
def errors_naming(subject: str) -> Iterator[None]:
    """Put ``subject`` before the message of an OSError or RuntimeError.

    For a file named by a config key: a missing or unreadable file then says
    which key gave it, e.g. ``with errors_naming("the teacher checkpoint
    model.teacher.checkpoint='t.pth'"): load(...)``. The error keeps its
    type (FileNotFoundError stays one).
    """
    try:
        yield
    except (OSError, RuntimeError) as error:
        try:
            renamed = type(error)(f'{subject}: {error}')
        except TypeError:  # an error class that takes other arguments
            renamed = None
        if renamed is None:
            raise
        raise renamed from None
