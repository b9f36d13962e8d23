"""HTML pages a browser opens: the hosted checkout (`hosted_checkout`), the Connect onboarding page
and Express dashboard (`connect`), the emulator's dashboard (`dashboard`), and their shared
`templates`. Pages use resources and core; nothing below imports a page.
"""
