# The documentation (triggers, actions, always-on behaviour) is the implementation module's,
# assigned to __doc__ below so that help(trio_adk.testing.live_script) shows it.

from trio_adk.testing._fake_gemini import _live_script as _impl
from trio_adk.testing._fake_gemini._live_script import OUTPUT_AUDIO_MIME as OUTPUT_AUDIO_MIME
from trio_adk.testing._fake_gemini._live_script import LiveAction as LiveAction
from trio_adk.testing._fake_gemini._live_script import LiveContext as LiveContext
from trio_adk.testing._fake_gemini._live_script import LiveConversation as LiveConversation
from trio_adk.testing._fake_gemini._live_script import LiveTurn as LiveTurn
from trio_adk.testing._fake_gemini._live_script import TextSource as TextSource
from trio_adk.testing._fake_gemini._live_script import Trigger as Trigger
from trio_adk.testing._fake_gemini._live_script import call_tool as call_tool
from trio_adk.testing._fake_gemini._live_script import call_tools as call_tools
from trio_adk.testing._fake_gemini._live_script import cancel_tool_calls as cancel_tool_calls
from trio_adk.testing._fake_gemini._live_script import close as close
from trio_adk.testing._fake_gemini._live_script import drop as drop
from trio_adk.testing._fake_gemini._live_script import go_away as go_away
from trio_adk.testing._fake_gemini._live_script import immediately as immediately
from trio_adk.testing._fake_gemini._live_script import on_message as on_message
from trio_adk.testing._fake_gemini._live_script import on_turn as on_turn
from trio_adk.testing._fake_gemini._live_script import on_utterance as on_utterance
from trio_adk.testing._fake_gemini._live_script import pcm_chunk as pcm_chunk
from trio_adk.testing._fake_gemini._live_script import resumption_update as resumption_update
from trio_adk.testing._fake_gemini._live_script import say as say
from trio_adk.testing._fake_gemini._live_script import send as send
from trio_adk.testing._fake_gemini._live_script import sleep as sleep
from trio_adk.testing._fake_gemini._live_script import speak as speak

__doc__ = _impl.__doc__

__all__ = [
    "OUTPUT_AUDIO_MIME",
    "LiveAction",
    "LiveContext",
    "LiveConversation",
    "LiveTurn",
    "TextSource",
    "Trigger",
    "call_tool",
    "call_tools",
    "cancel_tool_calls",
    "close",
    "drop",
    "go_away",
    "immediately",
    "on_message",
    "on_turn",
    "on_utterance",
    "pcm_chunk",
    "resumption_update",
    "say",
    "send",
    "sleep",
    "speak",
]
