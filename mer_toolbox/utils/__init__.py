"""Small utilities shared across mer_toolbox."""
