"""AI providers behind one interface: local (default), Google GenAI, LiteLLM.

The set engine builds a ``SetView`` and calls ``provider_from_config(os.environ)`` then
``annotate(set_view, brief)`` or ``interpret_brief(text)``; the result always comes back, from the
configured model when its answer passes validation, else from the local provider with the reason in
``fallback_reason``.
"""

from service.ai.errors import AIConfigError, AIError, AIUnavailable, InvalidAnswer
from service.ai.local import LocalProvider
from service.ai.providers import (
    PROVIDER_NAMES,
    AISettings,
    ModelProvider,
    NotesProvider,
    provider_from_config,
)
from service.ai.types import (
    ARC_NAMES,
    BriefParameters,
    SetNotes,
    SetView,
    TrackView,
    TransitionNote,
    TransitionView,
)

__all__ = [
    "ARC_NAMES",
    "PROVIDER_NAMES",
    "AIConfigError",
    "AIError",
    "AISettings",
    "AIUnavailable",
    "BriefParameters",
    "InvalidAnswer",
    "LocalProvider",
    "ModelProvider",
    "NotesProvider",
    "SetNotes",
    "SetView",
    "TrackView",
    "TransitionNote",
    "TransitionView",
    "provider_from_config",
]
