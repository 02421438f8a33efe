"""Deep ReLU networks: global, local and pointwise injectivity by MILP, with a brute-force reference."""
