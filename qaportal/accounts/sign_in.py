"""Other ways to sign in, offered on the sign-in page by the apps that provide them.

accounts owns the sign-in page but must not import the apps that build on it (sso adds
"Sign in with Microsoft"), so they register a template in AppConfig.ready().
"""

_option_templates: list[str] = []


def sign_in_option_register(*, template_name: str) -> None:
    if template_name not in _option_templates:
        _option_templates.append(template_name)


def sign_in_option_templates() -> list[str]:
    return list(_option_templates)
