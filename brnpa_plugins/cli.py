"""The ``brnpa`` command: plugins, the model zoo and the explorer.

    brnpa plugins                  each plugin, its version, hooks, adapters
    brnpa zoo list [--task T] [--dataset D]
    brnpa zoo info NAME
    brnpa zoo download NAME [--dest DIR] [--config]
    brnpa explore [MODEL_OR_CONFIG] [--checkpoint PATH] [--port 7860]
        [--host 127.0.0.1]             the interactive part explorer
"""
import argparse
import contextlib
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

from .backbones import BackboneFamily
from .evaluation.methods import SaliencyMethod
from .plugins import (Adapter, AdapterUnavailableError, UnknownNameError,
                      plugin_hooks, plugin_sources, registered_by_plugin)
from .version import __version__
from .zoo import (CACHE_ENV, MIRROR_ENV, DownloadError, MetafileError,
                  NoCheckpointError, ZooEntry, get_entry, resolve_checkpoint,
                  zoo_entries)

#: The exit status when stdout is a pipe whose reader has gone (``brnpa
#: plugins | head``): what a shell reports for a tool ended by SIGPIPE.
BROKEN_PIPE_STATUS = 128 + 13
#: Errors a user can act on: printed as one message, without a traceback.
USER_ERRORS = (AdapterUnavailableError, DownloadError, FileNotFoundError,
               MetafileError, NoCheckpointError, UnknownNameError)

# What each hook registers, so that `brnpa plugins` can list it per plugin.
_REGISTRATIONS = {
    'brnpa_register_adapters': ('adapters', Adapter),
    'brnpa_register_backbones': ('backbones', BackboneFamily),
    'brnpa_register_zoo_entries': ('zoo entries', ZooEntry),
    'brnpa_register_saliency_methods': ('saliency methods', SaliencyMethod),
}


def _display_path(path: Optional[str]) -> str:
    if not path:
        return '-'
    relative = os.path.relpath(path)
    return path if relative.startswith('..') else relative


def _adapter_report(adapter: Adapter, check: bool) -> Dict[str, Any]:
    reason = adapter.unavailable_reason()
    if reason is None and check:
        try:
            adapter.activate()
        except Exception as error:  # noqa: BLE001
            # --check exists to surface a broken ecosystem install.
            reason = f'import failed: {type(error).__name__}: {error}'
    # An active adapter that patches its ecosystem says what it patched.
    status = getattr(sys.modules.get(adapter.module), 'patch_status', None)
    return dict(name=adapter.name, module=adapter.module,
                available=reason is None, reason=reason,
                active=adapter.active, description=adapter.description,
                patches=status() if callable(status) else {})


def plugin_report(check: bool = False) -> List[Dict[str, Any]]:
    """What ``brnpa plugins`` shows, as plain data (also its --json)."""
    provided = {hook: registered_by_plugin(hook, kind)
                for hook, (_, kind) in _REGISTRATIONS.items()}
    report = []
    for name, source in sorted(plugin_sources().items()):
        entry = dict(name=name, distribution=source.distribution,
                     version=source.version, error=source.error, hooks=[],
                     provides={}, problems=list(source.problems))
        if source.error is None:
            entry['hooks'] = [h for h in plugin_hooks(name)
                              if h in _REGISTRATIONS]
            for hook in entry['hooks']:
                label, kind = _REGISTRATIONS[hook]
                items = provided[hook].get(name, [])
                entry['provides'][label] = [
                    _adapter_report(item, check) if kind is Adapter else
                    dict(name=item.name) for item in items]
        report.append(entry)
    return report


def _print_plugins(report: List[Dict[str, Any]]) -> None:
    for plugin in report:
        print(f"{plugin['name']}  ({plugin['distribution']} "
              f"{plugin['version']})")
        if plugin['error']:
            print(f"  not loaded: {plugin['error']}")
            continue
        print(f"  hooks: {', '.join(plugin['hooks']) or '-'}")
        for label, items in plugin['provides'].items():
            if label != 'adapters':
                names = ', '.join(item['name'] for item in items)
                print(f'  {label} ({len(items)}): {names}')
                continue
            for item in items:
                state = ('available' + (', active' if item['active'] else '')
                         if item['available'] else
                         f"unavailable: {item['reason']}")
                print(f"  adapter {item['name']} ({item['module']}): {state}")
                for patch, what in item['patches'].items():
                    print(f'    patch {patch}: {what}')
        for problem in plugin['problems']:
            print(f'  problem: {problem}')


def cmd_plugins(args) -> int:
    report = plugin_report(check=args.check)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_plugins(report)
    return 0


def _matches(value: str, wanted: Optional[str]) -> bool:
    return wanted is None or wanted.lower() in value.lower()


def cmd_zoo_list(args) -> int:
    entries = list(zoo_entries().values())
    chosen = [e for e in entries
              if _matches(e.task, args.task) and _matches(e.dataset,
                                                          args.dataset)]
    if not chosen:
        tasks = sorted({e.task for e in entries})
        datasets = sorted({e.dataset for e in entries})
        print(f'No zoo entry matches; tasks: {tasks}; datasets: {datasets}.',
              file=sys.stderr)
        return 1
    rows = [('NAME', 'TASK', 'DATASET', 'STATUS')]
    rows += [(e.name, e.task, e.dataset, e.status) for e in chosen]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print('  '.join(c.ljust(w) for c, w in zip(row, widths)) + '  ' +
              row[3])
    return 0


def _value(value: Any) -> str:
    if value is None:
        return '-'
    if isinstance(value, (list, tuple)):
        return ', '.join(map(str, value))
    return str(value)


def cmd_zoo_info(args) -> int:
    entry = get_entry(args.name)
    status = entry.status
    if entry.weights is None:
        status += ' (no checkpoint published yet)'
    fields = [
        ('name', entry.name), ('task', entry.task),
        ('dataset', entry.dataset), ('status', status),
        ('config', _display_path(entry.config)
         + ('' if not entry.config or os.path.isfile(entry.config)
            else ' (missing)')),
        ('weights', entry.weights), ('sha256', entry.sha256),
    ]
    fields += [(f'metric {k}', v) for k, v in entry.metrics.items()]
    fields += list(entry.metadata.items())
    if entry.paper:
        fields.append(('paper', f"{entry.paper.get('Title', '')} "
                                f"{entry.paper.get('URL', '')}".strip()))
    fields.append(('metafile', _display_path(entry.source)))
    width = max(len(key) for key, _ in fields)
    for key, value in fields:
        print(f'{key.ljust(width)}  {_value(value)}')
    if entry.task == 'Image Classification':
        print(f"\nIn Python: mmpretrain.get_model('{entry.name}', "
              'pretrained=True) once brnpa_plugins.openmmlab is imported.')
    return 0


def cmd_zoo_download(args) -> int:
    path = resolve_checkpoint(args.name, cache_dir=args.dest,
                              progress=None if args.progress else False)
    print(path)
    if args.config:
        from .zoo.config import write_entry_config
        print(write_entry_config(get_entry(args.name), path.parent))
    return 0


def cmd_explore(args) -> int:
    from .explorer.app import launch
    from .explorer.session import ExplorerError
    try:
        launch(args.model, args.checkpoint, args.host, args.port)
    except ExplorerError as error:
        print(f'brnpa: error: {error}', file=sys.stderr)
        return 1
    return 0


def _command(commands, name: str, func, summary: str, description: str,
             takes_name: bool = False) -> argparse.ArgumentParser:
    """A subcommand running ``func(args)``, with a NAME argument or not."""
    parser = commands.add_parser(name, help=summary, description=description)
    parser.set_defaults(func=func)
    if takes_name:
        parser.add_argument('name', metavar='NAME',
                            help='zoo name (see brnpa zoo list)')
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='brnpa',
        description='BR-NPA plugins for mmpretrain, torchreid and '
        'learn2learn: list the plugins and use the model zoo.')
    parser.add_argument('--version', action='version',
                        version=f'%(prog)s {__version__}')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND',
                                     required=True)

    plugins = _command(
        commands, 'plugins', cmd_plugins,
        'list plugins, their hooks and adapters',
        'List every plugin (built-in and installed through the '
        '"brnpa_plugins" entry-point group) with its version, the hooks it '
        'implements and what it registers; for each ecosystem adapter, '
        'whether it is available and, if not, the command that installs it. '
        'Set BRNPA_PLUGINS_DISABLE_AUTOLOAD=1 to skip installed plugins.')
    plugins.add_argument('--json', action='store_true',
                         help='print the listing as JSON')
    plugins.add_argument('--check', action='store_true',
                         help='import each available adapter to confirm it '
                         'loads (slower: imports the ecosystems)')

    zoo = commands.add_parser(
        'zoo', help='list, describe and download zoo models',
        description='The model zoo: entries from the metafiles listed in '
        'model-index.yml and from plugins. Downloads are SHA-256 verified '
        f'and cached in ${CACHE_ENV} (default '
        '~/.cache/brnpa_plugins/checkpoints); set '
        f'${MIRROR_ENV} to a base URL holding the files to use a mirror.')
    zoo_commands = zoo.add_subparsers(dest='zoo_command', metavar='COMMAND',
                                      required=True)
    listing = _command(
        zoo_commands, 'list', cmd_zoo_list, 'list zoo entries',
        'List zoo entries, optionally filtered (case-insensitive substring '
        'match).')
    listing.add_argument('--task', help='e.g. "classification", "re-id"')
    listing.add_argument('--dataset', help='e.g. "cub", "market"')
    _command(zoo_commands, 'info', cmd_zoo_info, 'show one entry',
             'Show an entry: task, dataset, status, config, weights, hash, '
             'metrics and metadata.', takes_name=True)
    download = _command(
        zoo_commands, 'download', cmd_zoo_download,
        'download and verify a checkpoint',
        "Download an entry's checkpoint, verify its SHA-256 and print where "
        'it is. Interrupted downloads resume.', takes_name=True)
    download.add_argument('--dest', metavar='DIR',
                          help='directory to download into (default: the '
                          'cache)')
    download.add_argument('--config', action='store_true',
                          help="also write the entry's config, resolved "
                          'into one standalone file (bases merged), next '
                          'to the checkpoint as NAME.py')
    download.add_argument('--no-progress', dest='progress',
                          action='store_false',
                          help='no progress bar (it only shows on a '
                          'terminal anyway)')

    explore = _command(
        commands, 'explore', cmd_explore,
        'open the interactive part explorer (a local web page)',
        'Serve a local page that explains a BR-NPA model of mmpretrain: '
        'the prediction, the ranked part maps, each part\'s contribution, '
        'Grad-CAM, RISE and any registered saliency method; on samples of '
        'the generated benchmark, remove or demote objects and see the '
        'model change. Needs the explorer extra: pip install '
        '"brnpa-plugins[explorer]".')
    explore.add_argument(
        'model', nargs='?', metavar='MODEL_OR_CONFIG', default=None,
        help='a zoo name or a config file (default: the demo model, '
        'brnpa_resnet18-w16_1xb32_synthetic-parts)')
    explore.add_argument('--checkpoint', metavar='PATH',
                         help="the weights (default: the zoo entry's; a "
                         'config needs one)')
    explore.add_argument('--port', type=int, default=7860)
    explore.add_argument('--host', default='127.0.0.1',
                         help='address to serve on (default: this machine '
                         'only)')
    return parser


def _run(argv: Optional[Sequence[str]]) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as error:
        print(f'brnpa: error: {error}', file=sys.stderr)
        return 1


def _stop_writing_stdout() -> None:
    """Send what is still buffered for stdout nowhere, so that Python's own
    flush at exit does not fail on the closed pipe again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``brnpa`` with ``argv`` (default: the command line).

    Returns:
        int: 0, 1 for an error the message explains, or
        :data:`BROKEN_PIPE_STATUS` when the reader of stdout went away.
    """
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not at exit
    except BrokenPipeError:
        # `brnpa plugins | head`: the reader has what it wanted; stop
        # quietly, as Unix tools do.
        _stop_writing_stdout()
        return BROKEN_PIPE_STATUS


if __name__ == '__main__':
    sys.exit(main())
