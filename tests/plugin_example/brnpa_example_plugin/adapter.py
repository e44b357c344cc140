"""The example adapter: importing it registers BR-NPA in its ecosystem."""
import brnpa_example_ecosystem  # noqa: F401
