"""The web dashboard for cadres and reviewers: another face of the same services.

Routes are thin: each calls the service functions the chat flows call, with the same role and
scope checks (`bot.org.access`), and renders server-side HTML (Jinja2, autoescaped). Sign-in is
by one-time link from the chat (`/web`) or `dvbot web-link`; sessions and links are stored in
Redis only as hashes of their tokens.
"""
