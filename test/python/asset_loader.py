"""Imports a Python asset from src/ as a module, the way its tests see it: unrendered, its data
line left as None for each test to fill in. No bytecode is written beside the sources."""
import importlib.util
import os
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "src")


def load_asset(relative_path, name):
    """The module at src/<relative_path>, freshly executed (a test may change its globals)."""
    path = os.path.normpath(os.path.join(SRC, relative_path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    previous = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = previous
    return module
