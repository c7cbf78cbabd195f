"""`{{ message|in_words }}`: the console's partials show form errors through the same table the
forms use (webapp.core.validation.in_words), so an error a view puts on a form by another road
is said in words too."""

from django import template

from webapp.core.validation import in_words as _in_words

register = template.Library()


@register.filter
def in_words(message):
    return _in_words(str(message))
