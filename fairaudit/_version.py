__version__ = "0.1.0"
#: The distribution's name on PyPI (``pip install fairaudit-faces``); the import name is
#: ``fairaudit``. The name ``fairaudit`` on PyPI is another project (see README.md).
DISTRIBUTION = "fairaudit-faces"
