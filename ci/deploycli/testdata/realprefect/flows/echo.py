from prefect import flow


@flow
def echo(
    quotes: str = "",
    dollar: str = "",
    backtick: str = "",
    newline: str = "",
    unicode: str = "",
    backslash: str = "",
    nested: dict = None,
):
    print(quotes, dollar, backtick, newline, unicode, backslash, nested)
