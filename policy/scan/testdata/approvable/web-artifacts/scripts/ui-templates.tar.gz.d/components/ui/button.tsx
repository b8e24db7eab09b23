import * as React from "react";
import { cn } from "@/lib/utils";

export interface ButtonProps extends React.ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: "default" | "outline" | "ghost";
}

export const Button = React.forwardRef<HTMLButtonElement, ButtonProps>(({ className, variant = "default", ...props }, ref) => (
  <button
    ref={ref}
    className={cn(
      "inline-flex items-center rounded-md px-4 py-2 text-sm font-medium",
      variant === "outline" && "border border-input bg-background",
      variant === "ghost" && "hover:bg-accent",
      variant === "default" && "bg-primary text-primary-foreground",
      className,
    )}
    {...props}
  />
));
Button.displayName = "Button";
