"""The README cites the paper the zoo's collection names."""
import re
from pathlib import Path

from brnpa_plugins.zoo import get_entry

REPO = Path(__file__).resolve().parents[2]


def _bibtex_fields() -> dict:
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    blocks = re.findall(r'```bibtex\n(.*?)```', readme, re.S)
    assert len(blocks) == 1, 'README.md needs one ```bibtex block'
    assert blocks[0].startswith('@article{gomez2022brnpa,')
    return dict(re.findall(r'^\s*(\w+)\s*=\s*\{(.*)\},?\s*$', blocks[0],
                           re.M))


def test_readme_bibtex_is_the_paper():
    fields = _bibtex_fields()
    assert fields['title'].replace('{', '').replace('}', '') == (
        'BR-NPA: A non-parametric high-resolution attention model to '
        'improve the interpretability of attention')
    assert fields['author'].split(' and ') == [
        'Gomez, Tristan', 'Ling, Suiyi', 'Fréour, Thomas',
        'Mouchère, Harold']
    assert (fields['journal'], fields['volume'], fields['pages'],
            fields['year']) == ('Pattern Recognition', '132', '108927',
                                '2022')
    assert fields['doi'] == '10.1016/j.patcog.2022.108927'


def test_metafile_paper_link_is_the_same_doi():
    paper = get_entry('brnpa_resnet18-w16_1xb32_synthetic-parts').paper
    assert paper['URL'] == 'https://doi.org/' + _bibtex_fields()['doi']
