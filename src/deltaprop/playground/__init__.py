"""The playground: a local web page over the library that trains a small network on 2-D data and shows every
δ, gradient and picture as it learns (``deltaprop playground``; needs ``pip install 'deltaprop[playground]'``).

``data`` (points, split, features, grid), ``settings`` (what the page sets), ``network`` (model, loss,
optimizer), ``session`` (a run in its thread), ``frames`` (the pictures), ``advice`` (findings with one-click
changes), ``stepmode`` (one point's step explained), ``script`` (the run as code), ``server`` (the web app).
"""
