from prefect import flow


@flow
def hostile(
    single: str = "",
    double: str = "",
    dollar: str = "",
    backtick: str = "",
    newline: str = "",
    unicode: str = "",
    html: str = "",
    backslash: str = "",
    glob: str = "",
    semicolon: str = "",
    nested: dict = None,
):
    print(single, double, dollar, backtick, newline, unicode, html, backslash, glob, semicolon, nested)
