"""What both HTTP faces (``api`` and ``web``) share, so neither imports the other.

The composition root (``hookline.app``) hands the faces one ``Wiring``; the
dependencies here read it, typed. Services never import this: they know no HTTP.
"""
