from typing import List, Optional

from pydantic import BaseModel, Field
from prefect import flow


class Target(BaseModel):
    """Where to load data."""

    bucket: str
    prefix: str = "raw/"
    retries: int = Field(3, description="retry count")
    labels: List[str] = []


@flow(name="load-model")
def load_model(target: Target, limit: int = 10, note: Optional[str] = None):
    """Load with a pydantic target.

    The schema of this flow has definitions.
    """
    print(target, limit, note)
