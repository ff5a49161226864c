"""Small programs the ``command`` runner calls in the bundled benchmark's model specs."""
