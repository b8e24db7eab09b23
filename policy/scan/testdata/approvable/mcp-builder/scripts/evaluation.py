#!/usr/bin/env python3
"""Run question/answer pairs against an MCP server over stdio and report how many tools answered right.

The questions are in an XML file: <qa_pair><question>...</question><answer>...</answer></qa_pair>.
"""
import argparse
import asyncio
import shlex
import xml.etree.ElementTree as ET

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def load_pairs(path: str) -> list[tuple[str, str]]:
    root = ET.parse(path).getroot()
    return [(qa.findtext("question", ""), qa.findtext("answer", "")) for qa in root.iter("qa_pair")]


async def run(command: str, pairs: list[tuple[str, str]]) -> int:
    argv = shlex.split(command)
    params = StdioServerParameters(command=argv[0], args=argv[1:])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            print(f"{len(tools.tools)} tools: {', '.join(t.name for t in tools.tools)}")
            right = 0
            for question, answer in pairs:
                result = await session.call_tool("answer_question", {"question": question})
                text = " ".join(c.text for c in result.content if getattr(c, "text", None))
                right += answer.strip().lower() in text.lower()
            return right


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transport", choices=["stdio"], default="stdio")
    ap.add_argument("--command", required=True)
    ap.add_argument("questions")
    args = ap.parse_args()
    pairs = load_pairs(args.questions)
    right = asyncio.run(run(args.command, pairs))
    print(f"{right}/{len(pairs)} answered right")


if __name__ == "__main__":
    main()
