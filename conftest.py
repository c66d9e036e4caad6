"""Suite-wide settings: the lectures run with their solutions filled in, so every self-check must pass.

Kernels started by nbval inherit this environment; tests that run the student version of a
lecture clear the variable for their own kernel.
"""
import os

os.environ["CNNLAB_EXERCISES_STRICT"] = "1"
