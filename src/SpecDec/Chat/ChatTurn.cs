namespace SpecDec.Chat;

/// <summary>One message of a conversation: its role ("system", "user", "assistant", …) and its text.</summary>
public sealed record ChatTurn(string Role, string Content);
