"""What every repository shares: the unit of work's session."""

from __future__ import annotations

from sqlalchemy.orm import Session


class Repository:
    """A set of queries over one area of the campaign's records, inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self.session = session
