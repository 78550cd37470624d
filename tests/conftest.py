"""Test setup: Qt must run offscreen, and that must be decided before Qt is imported."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
