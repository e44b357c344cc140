"""The plugins that ship with brnpa_plugins (``DEFAULT_PLUGINS``).

Each module implements hooks of :mod:`brnpa_plugins.plugins.hookspecs`;
none imports an ecosystem, so registering them is cheap.
"""
