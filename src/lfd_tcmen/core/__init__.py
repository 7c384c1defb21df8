"""The small base every other package stands on: the one exception type (errors), atomic result
files and plain values (files), image decoding (images), folder locks (locks), status lines (logs),
progress bars (progress) and the one registry helper (registry). Imports nothing above itself."""
