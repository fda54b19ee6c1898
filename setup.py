"""Install mer_toolbox: ``pip install -e .`` (CPU machines: scripts/install.sh)."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    with open(osp.join(HERE, 'requirements', name), encoding='utf-8') as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'mer_toolbox', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


extras = {
    'media': read_requirements('media.txt'),
    'faces': read_requirements('faces.txt'),
    'gemini': read_requirements('gemini.txt'),
    'openai': read_requirements('openai.txt'),
    'sweep': read_requirements('sweep.txt'),
    'tests': read_requirements('tests.txt'),
    'docs': read_requirements('docs.txt'),  # mkdocs: builds the site
}
extras['all'] = sorted({r for name in ('media', 'faces', 'gemini', 'openai', 'sweep')
                        for r in extras[name]})

setup(
    name='mer_toolbox',
    version=read_version(),
    description='Multimodal video emotion recognition with reasoning priors '
                '(MMEngine-style toolbox)',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['mer_toolbox', 'mer_toolbox.*']),
    include_package_data=True,
    install_requires=read_requirements('runtime.txt'),
    extras_require=extras,
)
