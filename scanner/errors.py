"""The project's exception tree. Library errors are translated where the I/O happens.

    MxauditError
     +-- UsageError        bad option, unreadable input, malformed profile/config -> exit 2
     |    +-- InputError   a domain list that cannot be read or has no domain column
     +-- StoreError        the scan history database cannot be opened or written
     +-- OutputError       a report (or another output file) cannot be written: disk
                           full, I/O error -> exit 74 (EX_IOERR); the previous files stay

Per-domain problems (NXDOMAIN, timeouts, refused connections) are never exceptions past
the collect stage: they are recorded as evidence and become findings.
"""


class MxauditError(Exception):
    pass


class UsageError(MxauditError):
    pass


class InputError(UsageError):
    pass


class StoreError(MxauditError):
    pass


class OutputError(MxauditError):
    pass
