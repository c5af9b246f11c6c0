"""The embedded broker of `make run`: kombu's file-system transport, with atomic writes.

Kombu writes a message by creating the file under its final name and then writing into it, so a
worker polling the same folder can take the file in between and read nothing. It then crashes
with a JSONDecodeError (seen on `make run`: the Grants worker died while the relay sent the demo
data's events, and honcho stopped the platform). Here a message is written under a name no reader
takes, then renamed to its final name, which is atomic on POSIX file systems.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# Readers take `<stamp>_<uuid>.<queue>.msg` only: a file still being written ends differently.
PARTIAL = ".partial"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        try:
            with open(final + PARTIAL, "wb") as partial:
                partial.write(str_to_bytes(dumps(payload)))
            os.replace(final + PARTIAL, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    @property
    def default_connection_params(self):
        # A folder has no host: kombu's default of "localhost" made every connection warn "No
        # hostname was supplied" into `make run`'s output.
        return {"port": self.default_port}
