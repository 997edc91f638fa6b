// Math helpers for elementwise ops whose WGSL builtins are missing or undefined at the edges.
