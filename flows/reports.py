"""Weekly report: an async flow, deployed once per team."""
import asyncio
from typing import List

from prefect import flow, get_run_logger, task

from dataplatform.notify import format_recipients


@task
async def build_section(team: str, section: str) -> str:
    await asyncio.sleep(0)
    return f"{team}: {section}"


@flow(name="weekly-report", log_prints=True)
async def weekly_report(
    team: str,
    recipients: List[str],
    include_charts: bool = True,
) -> str:
    sections = ["summary", "kpis"] + (["charts"] if include_charts else [])
    parts = await asyncio.gather(*(build_section(team, s) for s in sections))
    get_run_logger().info("sending to %s", format_recipients(recipients))
    return "\n".join(parts)
