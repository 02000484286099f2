"""The portal's date formats per language (FORMAT_MODULE_PATH), read by `common.times`.

One format per kind, the same on every page, e-mail and message: a date, and a date with
its time (24-hour clock, as the times are those of TIME_ZONE). Whatever is not set here
comes from Django's own locale formats.
"""
