"""Built-in plugin: the zoo entries of this project's model-index.yml."""
from ...zoo.metafile import read_model_index
from ..hookspecs import hookimpl


@hookimpl
def brnpa_register_zoo_entries(register):
    for entry in read_model_index():
        register(entry)
