//! TODO(skeleton): filled in by its own change.
