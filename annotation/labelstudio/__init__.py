"""Label Studio: the labeling config, lossless conversion to and from its JSON, and a thin SDK wrapper."""
