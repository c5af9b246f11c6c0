"""Serializer instances shared by a process, for the hot reads."""

import functools


@functools.cache
def shared_serializer(serializer_class, **context):
    """One instance per serializer class and context, its fields bound once for the process.

    DRF deep-copies a serializer's declared fields (nested serializers included) for every
    instance: ~0.5-1 ms of a read (bench/README.md, findings 18 and 20). A serializer's output
    depends on the row and its context alone, so one instance per context serves every request.
    The context's values must be hashable: flags such as whether the caller sees a full EIN, not
    the request.
    """
    return serializer_class(context=context)
