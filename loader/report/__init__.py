"""The insights report: what the loaded catalogues and ratings look like, as HTML with figures.

`facts` computes every number from the database, `figures` draws them and `render` writes the
page; `python -m loader.report` runs all three.
"""
