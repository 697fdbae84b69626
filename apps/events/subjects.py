def subject_of(instance) -> tuple[str, str]:
    """The (type, id) an event uses to name a local model instance."""
    return instance._meta.label_lower, str(instance.pk)
