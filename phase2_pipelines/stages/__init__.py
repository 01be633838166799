"""The pipeline's stages, one module each: a DVC stage imports, and depends on, only its code."""
